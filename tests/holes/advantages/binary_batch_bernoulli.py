# check: values
# WRONG: for 0/1 rewards the batch std as sqrt(P(1 - P)), the population std: 'batch' off by sqrt(B/(B - 1)) (the contract's std is Bessel's)
import torch


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got {tuple(rewards.shape)}")
    if group_size < 2 or rewards.shape[0] % group_size:
        raise ValueError(f"bad group_size {group_size} for B = {rewards.shape[0]}")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")
    x = _grouped(rewards, group_size)
    binary = bool(((x == 0) | (x == 1)).all())
    p = x.mean(1, keepdim=True)
    a = x - p
    if scale == "group":
        std = (p * (1 - p) * group_size / (group_size - 1)).sqrt() if binary else x.std(1, keepdim=True)
        a = a / (std + eps)
    elif scale == "batch":
        big_p = x.mean()
        std = (big_p * (1 - big_p)).sqrt() if binary else x.std()
        a = a / (std + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
