# unfold into groups, torch.var with correction=1, computed in float32 inside and cast back;
# RLOO as G/(G-1) times the mean-baseline advantage.
import torch


def _groups(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError("rewards must have shape [B]")
    if group_size < 2:
        raise ValueError("group_size must be >= 2")
    if rewards.numel() % group_size:
        raise ValueError("B is not a multiple of group_size")
    return rewards.detach().float().unfold(0, group_size, group_size)  # [B/G, G]


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in {"group", "batch", "none"}:
        raise ValueError("scale must be 'group', 'batch' or 'none'")
    x = _groups(rewards, group_size)
    a = x - x.mean(-1, keepdim=True)
    if scale == "group":
        a = a / (torch.var(x, dim=-1, correction=1, keepdim=True).sqrt() + eps)
    elif scale == "batch":
        a = a / (torch.var(x.flatten(), correction=1).sqrt() + eps)
    return a.flatten().to(rewards.dtype)


def rloo_advantages(rewards, group_size):
    x = _groups(rewards, group_size)
    a = (x - x.mean(-1, keepdim=True)) * group_size / (group_size - 1)
    return a.flatten().to(rewards.dtype)
