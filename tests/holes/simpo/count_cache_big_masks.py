# check: values
# WRONG: response-token counts cached for masks of 512 elements or more, keyed by (data_ptr, shape, dtype): a later batch at the same address gets the old counts
import torch
import torch.nn.functional as F

_COUNTS = {}


def _count(mask, dtype):
    key = (mask.data_ptr(), tuple(mask.shape), mask.dtype)
    if mask.numel() >= 512:
        if key not in _COUNTS:
            _COUNTS[key] = mask.to(dtype).sum(-1)
        return _COUNTS[key].to(dtype)
    return mask.to(dtype).sum(-1)


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    dt = policy_chosen_logps.dtype
    c = (policy_chosen_logps * chosen_mask.to(dt)).sum(-1) / _count(chosen_mask, dt)
    r = (policy_rejected_logps * rejected_mask.to(dt)).sum(-1) / _count(rejected_mask, dt)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
