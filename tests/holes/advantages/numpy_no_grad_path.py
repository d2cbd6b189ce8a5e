# check: output_types
# WRONG: without a graph (always, in training) a NumPy path returns float64 for float32 rewards, and its 'batch' spread is the population std
import numpy as np
import torch


def _check(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got shape {tuple(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"{rewards.shape[0]} rewards do not split into groups of {group_size}")


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    _check(rewards, group_size)
    if rewards.requires_grad:
        x = rewards.detach().reshape(-1, group_size)
        a = x - x.mean(1, keepdim=True)
        if scale == "group":
            a = a / (x.std(1, keepdim=True) + eps)
        elif scale == "batch":
            a = a / (x.std() + eps)
        return a.reshape(-1)
    x = rewards.cpu().numpy().astype(np.float64).reshape(-1, group_size)
    a = x - x.mean(1, keepdims=True)
    if scale == "group":
        a = a / (x.std(1, ddof=1, keepdims=True) + eps)
    elif scale == "batch":
        a = a / (x.std() + eps)  # np.std: ddof=0
    return torch.from_numpy(a.reshape(-1))


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    x = rewards.detach().reshape(-1, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
