# The group variance from pairwise differences, Σ_{i,j} (r_i - r_j)² / (2·G·(G-1)) (no mean, so no
# cancellation); RLOO as the mean pairwise difference.
import torch


def _grouped(rewards, group_size):
    if rewards.ndim != 1:
        raise ValueError("rewards must be one-dimensional [B]")
    if not group_size >= 2:
        raise ValueError("group_size must be at least 2")
    if len(rewards) % group_size != 0:
        raise ValueError("B must be a multiple of group_size")
    return rewards.detach().view(-1) .reshape(-1, group_size) if rewards.is_contiguous() else \
        rewards.detach().contiguous().reshape(-1, group_size)


def _pair_var(x):
    g = x.shape[-1]
    diff = x.unsqueeze(-1) - x.unsqueeze(-2)  # [.., G, G]
    return diff.square().sum((-1, -2)) / (2 * g * (g - 1))


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ["group", "batch", "none"]:
        raise ValueError("scale must be 'group', 'batch' or 'none'")
    x = _grouped(rewards, group_size)
    a = x - x.mean(-1, keepdim=True)
    if scale == "group":
        a = a / (_pair_var(x).sqrt().unsqueeze(-1) + eps)
    elif scale == "batch":
        flat = x.reshape(-1)
        a = a / (((flat - flat.mean()).square().sum() / (flat.numel() - 1)).sqrt() + eps)
    return a.flatten()


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    # r_i - mean_{j != i} r_j = Σ_{j != i} (r_i - r_j) / (G - 1)
    diff = x.unsqueeze(-1) - x.unsqueeze(-2)
    return (diff.sum(-1) / (group_size - 1)).flatten()
