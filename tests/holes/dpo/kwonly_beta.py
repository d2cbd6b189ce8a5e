# check: signature
# WRONG: beta keyword-only (`*, beta=0.1`): the contract's positional call dpo_loss(pc, pr, rc, rr, mc, mr, 0.5) raises TypeError.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, *, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
