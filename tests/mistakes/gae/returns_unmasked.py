# mistake: returns not masked (padding keeps the values)
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        adv = torch.zeros_like(r)
        last = torch.zeros_like(r[:, 0])
        next_v = torch.zeros_like(r[:, 0])
        next_m = torch.zeros_like(r[:, 0])
        for t in reversed(range(r.shape[1])):
            delta = r[:, t] + gamma * next_v * next_m - v[:, t]
            last = (delta + gamma * lam * next_m * last) * m[:, t]
            adv[:, t] = last
            next_v, next_m = v[:, t], m[:, t]
        return adv, adv + values
