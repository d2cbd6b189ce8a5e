# check: values
# named: γ missing from δ's bootstrap term: r_t + V_{t+1} - V_t
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    rewards, values = rewards.detach(), values.detach()
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    B, T = r.shape
    adv = torch.zeros_like(r)
    last = torch.zeros(B, dtype=r.dtype)
    for t in reversed(range(T)):
        nv = v[:, t + 1] * m[:, t + 1] if t + 1 < T else torch.zeros(B, dtype=r.dtype)
        nm = m[:, t + 1] if t + 1 < T else torch.zeros(B, dtype=r.dtype)
        delta = r[:, t] + nv - v[:, t]  # the discount lives in the recursion
        last = (delta + gamma * lam * nm * last) * m[:, t]
        adv[:, t] = last
    returns = (adv + v) * m
    return adv, returns
