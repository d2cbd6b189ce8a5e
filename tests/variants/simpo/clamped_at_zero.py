# RIGHT: every per-token log-prob clamped to at most 0 first (a log-probability cannot be positive): the statement's
# inputs are all at most 0, so the clamp changes no value and no gradient.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    pc, pr = policy_chosen_logps.clamp(max=0.0), policy_rejected_logps.clamp(max=0.0)
    mc = chosen_mask.to(pc.dtype)
    mr = rejected_mask.to(pr.dtype)
    c = (pc * mc).sum(-1) / mc.sum(-1)
    r = (pr * mr).sum(-1) / mr.sum(-1)
    return -F.logsigmoid(beta * (c - r) - gamma).mean(), (beta * c).detach(), (beta * r).detach()
