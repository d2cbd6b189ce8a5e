# check: values
# WRONG: loss = (1 - λ)·nll + λ·or_loss, a convex combination of the two terms, instead of nll + λ·or_loss.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    lo = lambda m: m - torch.log(-torch.expm1(m))
    or_loss = -F.logsigmoid(lo(c) - lo(r)).mean()
    return (1 - lam) * nll + lam * or_loss, nll, or_loss
