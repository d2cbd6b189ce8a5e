# check: output_types
# WRONG: mask dtypes dispatched by a list that misses int16: an int16 mask is taken for a float mask and the outputs, allocated like it, are int16 (statement: an integer mask of any width)
import torch

_INT = (torch.bool, torch.uint8, torch.int8, torch.int32, torch.int64)


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype) if mask.dtype in _INT else mask  # else: float mask, the rewards' dtype
    r, v = rewards * m, values * m
    b, t = r.shape
    adv = torch.zeros_like(m)
    ret = torch.zeros_like(m)
    nv = nm = na = torch.zeros_like(r[:, 0])
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    ret[:] = (adv + v) * m
    return adv, ret
