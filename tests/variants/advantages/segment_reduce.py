# Group statistics with torch.segment_reduce over lengths [G, G, ...] (no reshape to [n, G]); the batch
# std from torch.var_mean; RLOO from segment sums gathered back with repeat_interleave.
import torch


def _lengths(rewards, group_size):
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 1:
        raise ValueError("rewards must be one-dimensional [B]")
    if not group_size >= 2:
        raise ValueError(f"group_size must be at least 2, got {group_size}")
    n, rest = divmod(rewards.shape[0], group_size)
    if rest:
        raise ValueError(f"{rewards.shape[0]} rewards do not split into groups of {group_size}")
    return torch.full((n,), group_size, dtype=torch.long, device=rewards.device)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if not (isinstance(scale, str) and scale in ("group", "batch", "none")):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    lengths = _lengths(rewards, group_size)
    r = rewards.detach()
    mean = torch.segment_reduce(r, "mean", lengths=lengths).repeat_interleave(group_size)
    a = r - mean
    if scale == "group":
        ss = torch.segment_reduce(a * a, "sum", lengths=lengths)
        std = (ss / (group_size - 1)).sqrt().repeat_interleave(group_size)
        a = a / (std + eps)
    elif scale == "batch":
        var, _ = torch.var_mean(r, correction=1)
        a = a / (var.sqrt() + eps)
    return a


def rloo_advantages(rewards, group_size):
    lengths = _lengths(rewards, group_size)
    r = rewards.detach()
    total = torch.segment_reduce(r, "sum", lengths=lengths).repeat_interleave(group_size)
    return r - (total - r) / (group_size - 1)
