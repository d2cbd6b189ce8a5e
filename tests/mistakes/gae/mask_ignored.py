# mistake: mask ignored (garbage padding leaks)
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        adv = torch.zeros_like(rewards)
        last = torch.zeros_like(rewards[:, 0])
        length = rewards.shape[1]
        for t in reversed(range(length)):
            next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(rewards[:, 0])
            delta = rewards[:, t] + gamma * next_value - values[:, t]
            last = delta + gamma * lam * last
            adv[:, t] = last
        returns = adv + values
        return adv * m, returns * m  # masked only at the end
