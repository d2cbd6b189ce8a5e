# check: values
# WRONG: for more than 256 tokens, advantages and returns written into module-level buffers kept per (shape, dtype) and returned: the next call of the same shape overwrites them
import torch

_BUF = {}


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    if r.numel() > 256:
        key = (b, t, r.dtype, r.device)
        if key not in _BUF:
            _BUF[key] = (torch.empty_like(r), torch.empty_like(r))
        adv, ret = _BUF[key]
    else:
        adv, ret = torch.empty_like(r), torch.empty_like(r)
    nv = nm = na = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    torch.mul(adv + v, m, out=ret)
    return adv, ret
