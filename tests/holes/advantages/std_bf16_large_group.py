# check: values
# WRONG: for G >= 64 the group std taken in bfloat16: off by about 1e-3 relative wherever the spread is not exact in bfloat16
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
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        std = a.bfloat16().std(1, keepdim=True).to(x.dtype) if group_size >= 64 else x.std(1, keepdim=True)
        a = a / (std + eps)
    elif scale == "batch":
        a = a / (x.std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
