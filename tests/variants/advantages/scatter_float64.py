# Group ids with scatter_reduce (mean) and index_add_ for the squared deviations, float64 inside and
# cast back, the whole computation under torch.inference_mode.
import torch


def _ids(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be [B], got {list(rewards.shape)}")
    if group_size < 2 or rewards.numel() % group_size:
        raise ValueError(f"group_size {group_size} does not split B = {rewards.numel()} into groups of 2 or more")
    return torch.arange(rewards.numel(), device=rewards.device) // group_size


def _stats(r, ids, n):
    mean = torch.zeros(n, dtype=r.dtype, device=r.device).scatter_reduce(0, ids, r, "mean", include_self=False)
    dev = r - mean[ids]
    return mean, dev


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}: expected 'group', 'batch' or 'none'")
    ids = _ids(rewards, group_size)
    with torch.inference_mode():
        r = rewards.detach().to(torch.float64)
        n = r.numel() // group_size
        _, dev = _stats(r, ids, n)
        if scale == "group":
            ss = torch.zeros(n, dtype=r.dtype).index_add_(0, ids, dev * dev)
            dev = dev / ((ss / (group_size - 1)).sqrt()[ids] + eps)
        elif scale == "batch":
            dev = dev / (torch.var(r, correction=1).sqrt() + eps)
        out = dev.to(rewards.dtype)
    return out.clone()  # a normal tensor, not an inference tensor


def rloo_advantages(rewards, group_size):
    ids = _ids(rewards, group_size)
    r = rewards.detach().to(torch.float64)
    n = r.numel() // group_size
    _, dev = _stats(r, ids, n)
    return (dev * group_size / (group_size - 1)).to(rewards.dtype)
