# check: bad_input
# WRONG: only 0-D and 2-D rewards rejected: 3-D rewards ([n, G, 1] from a reward head) are flattened and accepted (statement: rewards that are not 1-D raise ValueError)
import torch


def _grouped(rewards, group_size):
    if rewards.dim() == 0:
        raise ValueError("rewards must be [B], got a scalar")
    if rewards.dim() == 2:
        raise ValueError(f"rewards look already grouped/2-D {tuple(rewards.shape)}; pass them flat [B]")
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if rewards.numel() % group_size:
        raise ValueError(f"B = {rewards.numel()} is not a multiple of group_size = {group_size}")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")
    x = _grouped(rewards, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (x.std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
