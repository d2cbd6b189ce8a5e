# check: bad_input
# WRONG: rewards already shaped [n_prompts, G] accepted as 'pre-grouped' instead of raising ValueError (statement: rewards must be 1-D)
import torch


def _grouped(rewards, group_size):
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    if rewards.dim() == 2 and rewards.shape[1] == group_size:
        return rewards.detach()  # already [n_prompts, G]
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be [B] or [n, G], got shape {tuple(rewards.shape)}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"{rewards.shape[0]} rewards do not split into groups of {group_size}")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
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
