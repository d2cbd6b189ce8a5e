# check: values
# status: error
# WRONG: a wrapper forwards only args[:7] and **kwargs: options passed by position are dropped (the defaults used), and a call by name raises
import functools
import torch


def _same_dtype(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tensors = list(args[:7])
        dtype = tensors[0].dtype
        tensors[:6] = [t if t.dtype == dtype else t.to(dtype) for t in tensors[:6]]
        return fn(*tensors, **kwargs)
    return wrapper


@_same_dtype
def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1.0)
    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.maximum(u, c) * m).sum() / n
    vc = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - returns) ** 2, (vc - returns) ** 2) * m).sum() / n
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
