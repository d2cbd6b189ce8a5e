# RIGHT: log odds as -log(expm1(-m)) (= log(P/(1-P))), switched to m itself below m = -30 with a clamped argument so the unused branch stays finite; the OR term as softplus(-x).
import torch
import torch.nn.functional as F


def _log_odds(m):
    far = m < -30.0
    safe = torch.where(far, torch.full_like(m, -1.0), m)
    return torch.where(far, m + torch.exp(m), -torch.log(torch.expm1(-safe)))


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    or_loss = F.softplus(-(_log_odds(c) - _log_odds(r))).mean()
    return nll + lam * or_loss, nll, or_loss
