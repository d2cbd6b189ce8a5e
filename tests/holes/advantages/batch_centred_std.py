# check: values
# WRONG: scale='batch' divides by the std of the group-centred rewards over the batch, not by the std of the raw rewards (the spread between groups' means is lost)
import torch


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError("rewards must be 1-D [B]")
    if group_size < 2:
        raise ValueError("group_size must be at least 2")
    if rewards.shape[0] % group_size:
        raise ValueError("B must be a multiple of group_size")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")
    x = _grouped(rewards, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (a.reshape(-1).std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    return (x - (x.sum(1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
