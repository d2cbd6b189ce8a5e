# check: inputs_unchanged
# WRONG: the function calls loss.backward(retain_graph=True) itself (to log a gradient norm): every .grad it reaches gets the DPO gradient again when the trainer calls backward.
import torch
import torch.nn.functional as F

LAST_GRAD_NORM = None


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    global LAST_GRAD_NORM
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    if loss.requires_grad and policy_chosen_logps.requires_grad:
        policy_chosen_logps.retain_grad()
        loss.backward(retain_graph=True)  # for the logged gradient norm
        LAST_GRAD_NORM = float(policy_chosen_logps.grad.norm())
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
