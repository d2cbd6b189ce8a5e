# check: values
# named: target 1/2 instead of 1/(2β)
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1).clamp(min=1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1).clamp(min=1)
    loss = ((chosen - rejected - 0.5) ** 2).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
