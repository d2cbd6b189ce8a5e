# check: values
# WRONG: casts float64 rewards and values to float32 before masking (by multiplication): padding near float64's max becomes inf, and inf·0 = NaN reaches the response tokens (statement: padding holds arbitrary finite numbers; this was a variant until padding near the dtype's max was graded)
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    dtype = rewards.dtype
    r = rewards.detach().float()
    v = values.detach().float()
    m = mask.float()
    r, v = r * m, v * m
    length = r.shape[1]
    out = [None] * length
    running = torch.zeros(r.shape[0])
    for t in range(length - 1, -1, -1):
        if t + 1 < length:
            next_value, next_mask = v[:, t + 1], m[:, t + 1]
        else:
            next_value, next_mask = torch.zeros(r.shape[0]), torch.zeros(r.shape[0])
        delta = r[:, t] + gamma * next_value * next_mask - v[:, t]
        running = (delta + gamma * lam * next_mask * running) * m[:, t]
        out[t] = running
    adv = torch.stack(out, 1) if length else torch.zeros_like(r)
    return adv.to(dtype), ((adv + v) * m).to(dtype)
