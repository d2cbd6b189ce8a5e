# check: stability
# WRONG: rows scanned in blocks of 128 tokens from the end, and the carry between blocks dropped: A_t loses the part of the sum beyond its block
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    nv = torch.cat([v[:, 1:], v.new_zeros(b, 1)], 1)
    nm = torch.cat([m[:, 1:], m.new_zeros(b, 1)], 1)
    delta = (r + gamma * nv * nm - v) * m
    gl = gamma * lam
    adv = torch.zeros_like(delta)
    for end in range(t, 0, -128):
        start = max(0, end - 128)
        acc = delta.new_zeros(b)  # forgot: should carry adv[:, end] from the previous block
        for i in reversed(range(start, end)):
            acc = (delta[:, i] + gl * nm[:, i] * acc) * m[:, i]
            adv[:, i] = acc
    return adv, (adv + v) * m
