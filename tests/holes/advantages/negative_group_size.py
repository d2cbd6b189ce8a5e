# check: bad_input
# WRONG: group_size validated by divmod only: a negative size that divides B (-4 for B = 12) passes and reshape raises RuntimeError, not ValueError (statement: group_size < 2 raises ValueError)
import torch


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got {tuple(rewards.shape)}")
    b = rewards.shape[0]
    try:
        groups, rem = divmod(b, group_size)
    except ZeroDivisionError:
        raise ValueError("group_size must be at least 2") from None
    if rem or groups == b:
        raise ValueError(f"cannot split {b} rewards into groups of {group_size} (need G >= 2 dividing B)")
    return rewards.detach().reshape(groups, group_size)


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
