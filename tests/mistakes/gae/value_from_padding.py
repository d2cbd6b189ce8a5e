# mistake: the value after the last token taken from padding
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        adv = torch.zeros_like(r)
        last = torch.zeros_like(r[:, 0])
        length = r.shape[1]
        for t in reversed(range(length)):
            next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(r[:, 0])  # pad token's value
            next_m = m[:, t + 1] if t + 1 < length else torch.zeros_like(r[:, 0])
            delta = r[:, t] + gamma * next_value - v[:, t]
            last = (delta + gamma * lam * next_m * last) * m[:, t]
            adv[:, t] = last
        return adv, (adv + v) * m
