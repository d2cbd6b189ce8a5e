# check: values
# WRONG: rloo_advantages writes into a module-level buffer cached per (B, dtype) and returns it: the next call with the same B overwrites it
import torch

_BUF = {}


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got shape {tuple(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
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
    key = (x.numel(), x.dtype, x.device)
    out = _BUF.get(key)
    if out is None:
        out = _BUF[key] = torch.empty(x.numel(), dtype=x.dtype, device=x.device)
    torch.sub(x, (x.sum(1, keepdim=True) - x) / (group_size - 1), out=out.view(-1, group_size))
    return out
