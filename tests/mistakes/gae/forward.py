# mistake: forward instead of backward recursion
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        next_v = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], 1)
        next_m = torch.cat([m[:, 1:], torch.zeros_like(m[:, :1])], 1)
        delta = r + gamma * next_v * next_m - v
        adv = torch.zeros_like(r)
        last = torch.zeros_like(r[:, 0])
        for t in range(r.shape[1]):  # from the first token on: sums the past
            last = (delta[:, t] + gamma * lam * last) * m[:, t]
            adv[:, t] = last
        return adv, (adv + v) * m
