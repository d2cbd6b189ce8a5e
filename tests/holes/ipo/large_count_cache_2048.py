# check: values
# WRONG: each mask's clamped token count memoised by (data_ptr, shape, dtype) for masks over 2048 elements: the next batch's mask at the same address gets stale counts.
import torch

_COUNTS = {}
LARGE = 2048


def _count(m):
    key = (m.data_ptr(), tuple(m.shape), m.dtype)
    if m.numel() > LARGE and key in _COUNTS:
        return _COUNTS[key]
    n = m.sum(-1).clamp(min=1)
    if m.numel() > LARGE:
        _COUNTS[key] = n
    return n


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(dt)).sum(-1) / _count(chosen_mask).to(dt)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(dt)).sum(-1) / _count(rejected_mask).to(dt)
    h = c - r
    return ((h - 1 / (2 * beta)) ** 2).mean(), (beta * c).detach(), (beta * r).detach()
