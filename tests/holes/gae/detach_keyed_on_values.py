# check: rewards_detached
# WRONG: inputs detached only when values carry a graph: with only rewards carrying one, both outputs keep the rewards' graph
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    if values.requires_grad:
        rewards, values = rewards.detach(), values.detach()
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    cols = []
    nv = nm = na = torch.zeros_like(r[:, 0])
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        cols.append(na)
        nv, nm = v[:, i], m[:, i]
    adv = torch.stack(cols[::-1], 1)
    return adv, (adv + v) * m
