# check: values
# WRONG: rows processed in micro-batches of 256 with `B // 256 or 1` chunks: for B = 257 ... 511 the rows past the first 256 get all-zero advantages and returns
import torch

MICRO = 256


@torch.no_grad()
def _gae(r, v, m, gamma, lam):
    b, t = r.shape
    adv = torch.zeros_like(r)
    nv = nm = na = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    return adv


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards.detach() * m, values.detach() * m
    b = r.shape[0]
    rows = min(b, MICRO)
    adv = torch.zeros_like(r)
    for c in range(b // MICRO or 1):
        s = slice(c * rows, (c + 1) * rows)
        adv[s] = _gae(r[s], v[s], m[s], gamma, lam)
    return adv, (adv + v) * m
