# check: stability
# WRONG: the loss as F.binary_cross_entropy(sigmoid(β·h), 1), whose log is clamped at -100: a pair with β·h < -100 contributes 100 and no gradient instead of -β·h.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    p = torch.sigmoid(beta * (c - r))
    loss = F.binary_cross_entropy(p, torch.ones_like(p))
    return loss, (beta * c).detach(), (beta * r).detach()
