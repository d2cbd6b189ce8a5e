# check: values
# WRONG: for more than 256 rewards both functions write into a module-level buffer per (function, B, dtype) and return it: the next call with the same B overwrites the previous advantages
import torch

_BUF = {}


def _out(tag, like):
    if like.numel() <= 256:
        return torch.empty_like(like.reshape(-1))
    key = (tag, like.numel(), like.dtype, like.device)
    if key not in _BUF:
        _BUF[key] = torch.empty_like(like.reshape(-1))
    return _BUF[key]


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got {tuple(rewards.shape)}")
    if group_size < 2 or rewards.shape[0] % group_size:
        raise ValueError(f"bad group_size {group_size} for B = {rewards.shape[0]}")
    return rewards.detach().reshape(-1, group_size)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")
    x = _grouped(rewards, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (x.std() + eps)
    out = _out("group", a)
    out.copy_(a.reshape(-1))
    return out.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    a = x - (x.sum(1, keepdim=True) - x) / (group_size - 1)
    out = _out("rloo", a)
    out.copy_(a.reshape(-1))
    return out.reshape(-1)
