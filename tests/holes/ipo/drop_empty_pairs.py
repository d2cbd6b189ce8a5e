# check: values
# WRONG: pairs whose two responses are both empty are left out of the batch mean (statement: such a pair counts, with loss (1/(2β))²).
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nc, nr = mc.sum(-1), mr.sum(-1)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / nc.clamp(min=1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / nr.clamp(min=1)
    losses = (c - r - 1 / (2 * beta)) ** 2
    keep = (nc + nr) > 0
    loss = losses[keep].mean() if bool(keep.any()) else losses.sum() * 0
    return loss, (beta * c).detach(), (beta * r).detach()
