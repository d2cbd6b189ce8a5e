# check: output_types
# WRONG: RLOO's leave-one-out matrix from torch.ones/torch.eye in the default dtype: under a float64 default, float32 rewards give float64 advantages
import torch


def _grouped(rewards, group_size):
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 1:
        raise ValueError("rewards must be a 1-D tensor [B]")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"B={rewards.shape[0]} is not a multiple of group_size={group_size}")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    x = _grouped(rewards, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (x.reshape(-1).std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)  # [n, G]
    loo = (torch.ones(group_size, group_size) - torch.eye(group_size)) / (group_size - 1)  # [G, G], default dtype
    baseline = (x[:, None, :] * loo[None]).sum(-1)  # [n, G]
    return (x - baseline).reshape(-1)
