# check: values
# WRONG: under torch.no_grad h is built from summed log-ratios (DPO's) instead of the per-token means.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    sc = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    sr = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    c, r = sc / mc.sum(-1).clamp(min=1), sr / mr.sum(-1).clamp(min=1)
    h = (c - r) if torch.is_grad_enabled() else (sc - sr)
    loss = ((h - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
