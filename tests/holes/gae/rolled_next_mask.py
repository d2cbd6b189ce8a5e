# check: values
# WRONG: m_{t+1} and V_{t+1} taken with torch.roll(-1): at t = T - 1 a full row bootstraps from γ·V_0·m_0 instead of 0
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    nm = torch.roll(m, -1, 1)
    nv = torch.roll(v, -1, 1) * nm
    delta = r + gamma * nv - v
    adv = torch.zeros_like(r)
    acc = torch.zeros_like(r[:, 0])
    for t in reversed(range(r.shape[1])):
        acc = (delta[:, t] + gamma * lam * nm[:, t] * acc) * m[:, t]
        adv[:, t] = acc
    return adv, (adv + v) * m
