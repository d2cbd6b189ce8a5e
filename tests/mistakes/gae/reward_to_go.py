# mistake: returns as the discounted reward-to-go
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        adv, ret = torch.zeros_like(r), torch.zeros_like(r)
        last_a = torch.zeros_like(r[:, 0])
        last_g = torch.zeros_like(r[:, 0])
        next_v = torch.zeros_like(r[:, 0])
        next_m = torch.zeros_like(r[:, 0])
        for t in reversed(range(r.shape[1])):
            delta = r[:, t] + gamma * next_v * next_m - v[:, t]
            last_a = (delta + gamma * lam * next_m * last_a) * m[:, t]
            last_g = (r[:, t] + gamma * last_g) * m[:, t]
            adv[:, t], ret[:, t] = last_a, last_g
            next_v, next_m = v[:, t], m[:, t]
        return adv, ret
