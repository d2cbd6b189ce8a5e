# check: values
# named: β outside the log σ: β·(-log σ(h)) instead of -log σ(β·h)
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -(beta * F.logsigmoid(chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
