# check: values
# WRONG: x_{t+1} taken with torch.roll(x, -1): at t = T-1 it wraps to position 0, so a row filling all T tokens bootstraps from its own V_0 instead of 0
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards.detach() * m, values.detach() * m
    nv, nm = torch.roll(v, -1, dims=1), torch.roll(m, -1, dims=1)
    delta = (r + gamma * nv * nm - v) * m
    adv = torch.zeros_like(delta)
    carry = torch.zeros_like(delta[:, 0])
    for t in reversed(range(delta.shape[1])):
        carry = (delta[:, t] + gamma * lam * nm[:, t] * carry) * m[:, t]
        adv[:, t] = carry
    return adv, (adv + v) * m
