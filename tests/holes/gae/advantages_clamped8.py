# check: values
# WRONG: advantages clamped to ±8 (eq. 16 has no clipping; returns computed from the clamped A)
import torch
@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    B, T = r.shape
    adv = torch.zeros_like(r)
    acc = r.new_zeros(B); nv = r.new_zeros(B); nm = r.new_zeros(B)
    for t in reversed(range(T)):
        delta = r[:, t] + gamma * nv * nm - v[:, t]
        acc = (delta + gamma * lam * nm * acc) * m[:, t]
        adv[:, t] = acc
        nv, nm = v[:, t], m[:, t]
    adv = adv.clamp(-8.0, 8.0)
    return adv, (adv + v) * m
