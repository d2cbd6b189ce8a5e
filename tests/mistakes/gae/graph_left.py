# mistake: advantages left with a graph
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m  # no detach: the graph reaches the critic
    steps = []
    last = torch.zeros_like(r[:, 0])
    next_v = torch.zeros_like(r[:, 0])
    next_m = torch.zeros_like(r[:, 0])
    for t in reversed(range(r.shape[1])):
        delta = r[:, t] + gamma * next_v * next_m - v[:, t]
        last = (delta + gamma * lam * next_m * last) * m[:, t]
        steps.append(last)
        next_v, next_m = v[:, t], m[:, t]
    adv = torch.stack(steps[::-1], 1) if steps else torch.zeros_like(r)
    return adv, (adv + v) * m
