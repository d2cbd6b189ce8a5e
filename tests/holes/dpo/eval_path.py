# check: stability
# WRONG: under torch.no_grad the loss is -log(sigmoid(β·h)), inf once β·h < -104 (float32); only the training path uses logsigmoid.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    x = beta * (c - r)
    if torch.is_grad_enabled():
        loss = -F.logsigmoid(x).mean()
    else:  # evaluation: no graph needed
        loss = -torch.log(torch.sigmoid(x)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
