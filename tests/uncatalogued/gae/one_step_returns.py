# check: values
# named: returns as the one-step target r_t + γ·V_{t+1} instead of A_t + V_t
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
        delta = r[:, t] + gamma * nv - v[:, t]
        last = (delta + gamma * lam * nm * last) * m[:, t]
        adv[:, t] = last
    nxt = torch.cat([v[:, 1:] * m[:, 1:], torch.zeros(B, 1, dtype=r.dtype)], 1)
    returns = (r + gamma * nxt) * m  # TD(0) targets for the critic
    return adv, returns
