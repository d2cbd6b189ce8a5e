# check: values
# WRONG: a pair whose two responses are both empty gets loss 0 (a padding pair) instead of (1/(2β))², still divided by B.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nc, nr = mc.sum(-1), mr.sum(-1)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / nc.clamp(min=1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / nr.clamp(min=1)
    pair_mask = ((nc + nr) > 0).to(c.dtype)
    loss = (((c - r - 1 / (2 * beta)) ** 2) * pair_mask).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
