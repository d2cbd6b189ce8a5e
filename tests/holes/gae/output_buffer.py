# check: values
# WRONG: advantages and returns written into module-level buffers cached per (shape, dtype) and returned: the next call of the same shape overwrites them
import torch

_BUF = {}


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    key = (tuple(rewards.shape), rewards.dtype, rewards.device)
    if key not in _BUF:
        _BUF[key] = (torch.empty(rewards.shape, dtype=rewards.dtype, device=rewards.device),
                     torch.empty(rewards.shape, dtype=rewards.dtype, device=rewards.device))
    adv, ret = _BUF[key]
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    last = r.new_zeros(b)
    nv, nm = r.new_zeros(b), r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        last = (delta + gamma * lam * nm * last) * m[:, i]
        adv[:, i] = last
        nv, nm = v[:, i], m[:, i]
    torch.add(adv, v, out=ret)
    ret.mul_(m)
    return adv, ret
