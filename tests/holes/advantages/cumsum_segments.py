# check: stability
# WRONG: group sums as differences of one running cumsum over the batch: in float32 near 1e4, a batch of 512 carries the running total's rounding (0.5 at 5e6) into every later group's mean
import torch


def _check(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got shape {tuple(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"{rewards.shape[0]} rewards do not split into groups of {group_size}")


def _group_sums(r, g):
    c = torch.cumsum(r, 0)  # running total over the whole batch, in r's dtype
    ends = c[g - 1::g]
    starts = torch.cat([ends.new_zeros(1), ends[:-1]])
    return (ends - starts).repeat_interleave(g)  # [B]


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    _check(rewards, group_size)
    r = rewards.detach()
    g = group_size
    mean = _group_sums(r, g) / g
    a = r - mean
    if scale == "group":
        var = _group_sums(a * a, g) / (g - 1)
        a = a / (var.sqrt() + eps)
    elif scale == "batch":
        a = a / (r.std() + eps)
    return a


def rloo_advantages(rewards, group_size):
    _check(rewards, group_size)
    r = rewards.detach()
    return r - (_group_sums(r, group_size) - r) / (group_size - 1)
