# check: values
# WRONG: pairs sorted by total response length and the rewards returned in that order, not the batch's.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    order = torch.argsort(mc.sum(-1) + mr.sum(-1), stable=True)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)[order]
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)[order]
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
