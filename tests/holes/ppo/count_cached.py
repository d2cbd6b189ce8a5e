# check: values
# WRONG: the token count is cached per mask tensor object, so a mask buffer refilled in place for the next batch gets the previous batch's count
import weakref
import torch

_COUNTS = {}  # id(mask) -> (weakref to mask, count)


def _count(mask, dtype):
    hit = _COUNTS.get(id(mask))
    if hit is not None and hit[0]() is mask:
        return hit[1].to(dtype)
    n = mask.to(dtype).sum().clamp(min=1.0)
    try:
        _COUNTS[id(mask)] = (weakref.ref(mask), n.detach().clone())
    except TypeError:
        pass
    return n


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = _count(mask, logps.dtype)
    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.maximum(u, c) * m).sum() / n
    vc = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - returns) ** 2, (vc - returns) ** 2) * m).sum() / n
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
