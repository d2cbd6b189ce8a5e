# check: values
# WRONG: each mask's clamped token count memoised by (data_ptr, shape, dtype) once it has 512 elements or more: the next batch's mask at the same address gets the previous batch's counts.
import torch

_COUNTS = {}


def _count(mask, dtype):
    if mask.numel() < 512:
        return mask.to(dtype).sum(-1).clamp(min=1)
    key = (mask.data_ptr(), tuple(mask.shape), mask.dtype)
    if key not in _COUNTS:
        _COUNTS[key] = mask.to(dtype).sum(-1).clamp(min=1)
    return _COUNTS[key].to(dtype)


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(dt)).sum(-1) / _count(chosen_mask, dt)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(dt)).sum(-1) / _count(rejected_mask, dt)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
