# check: values
# WRONG: group statistics broadcast back with .repeat(G) instead of .repeat_interleave(G): element i gets group (i mod n)'s mean and std
import torch


def _check(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError("rewards must be 1-D [B]")
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if rewards.shape[0] % group_size:
        raise ValueError("B must be a multiple of group_size")


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}: use 'group', 'batch' or 'none'")
    _check(rewards, group_size)
    r = rewards.detach()
    grouped = r.view(-1, group_size)
    mean = grouped.mean(1).repeat(group_size)
    a = r - mean
    if scale == "group":
        a = a / (grouped.std(1).repeat(group_size) + eps)
    elif scale == "batch":
        a = a / (r.std() + eps)
    return a


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    r = rewards.detach()
    total = r.view(-1, group_size).sum(1).repeat(group_size)
    return r - (total - r) / (group_size - 1)
