# Python loops over groups and a hand-written Bessel std; the leave-one-out mean per element.
import math

import torch


def _check(rewards, group_size):
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be 1-D, got {tuple(rewards.shape)}")
    if group_size < 2 or len(rewards) % group_size != 0:
        raise ValueError(f"bad group_size {group_size} for {len(rewards)} rewards")


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be group, batch or none, not {scale!r}")
    _check(rewards, group_size)
    with torch.no_grad():
        r = rewards.clone()
        out = torch.empty_like(r)
        n = len(r)
        batch_mean = sum(float(v) for v in r) / n
        batch_std = math.sqrt(sum((float(v) - batch_mean) ** 2 for v in r) / (n - 1))
        for start in range(0, n, group_size):
            g = r[start:start + group_size]
            mean = g.sum() / group_size
            std = (((g - mean) ** 2).sum() / (group_size - 1)).sqrt()
            a = g - mean
            if scale == "group":
                a = a / (std + eps)
            elif scale == "batch":
                a = a / (batch_std + eps)
            out[start:start + group_size] = a
    return out


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    out = torch.empty_like(rewards, requires_grad=False)
    with torch.no_grad():
        for i in range(len(rewards)):
            start = i - i % group_size
            others = [rewards[j] for j in range(start, start + group_size) if j != i]
            out[i] = rewards[i] - torch.stack(others).mean()
    return out
