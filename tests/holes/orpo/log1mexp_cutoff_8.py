# check: gradients
# WRONG: log(1 - e^m) taken as 0 for m < -8 ("e^m below 3e-4 is negligible"): the log odds, and d loss / dm, are off by up to e^-8 ≈ 3.4e-4 for mean log-probs in (-12, -8).
import torch
import torch.nn.functional as F


def _log1mexp(m):
    far = m < -8.0
    return torch.where(far, torch.zeros_like(m), torch.log(-torch.expm1(torch.where(far, -torch.ones_like(m), m))))


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    or_loss = -F.logsigmoid((c - _log1mexp(c)) - (r - _log1mexp(r))).mean()
    return nll + lam * or_loss, nll, or_loss
