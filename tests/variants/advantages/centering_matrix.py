# RIGHT: the group mean removed by the centring matrix C = I - J/G (x @ C), the std as ||x C||/sqrt(G-1) via torch.linalg.vector_norm, the batch std by torch.var_mean; RLOO = x @ (G·I - J)/(G-1)
import torch


def _grouped(rewards, group_size):
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 1:
        raise ValueError("rewards must be a 1-D tensor [B]")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"B = {rewards.shape[0]} not divisible by group_size = {group_size}")
    return rewards.detach().reshape(-1, group_size)


def _centre(g, dtype):
    return torch.eye(g, dtype=dtype) - torch.full((g, g), 1.0 / g, dtype=dtype)


def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in {"group", "batch", "none"}:
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    x = _grouped(rewards, group_size)
    a = x @ _centre(group_size, x.dtype).to(x.device)
    if scale == "group":
        a = a / (torch.linalg.vector_norm(a, dim=1, keepdim=True) / (group_size - 1) ** 0.5 + eps)
    elif scale == "batch":
        var, _ = torch.var_mean(x.reshape(-1), correction=1)
        a = a / (var.sqrt() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    g = group_size
    w = (g * torch.eye(g, dtype=x.dtype) - torch.ones(g, g, dtype=x.dtype)) / (g - 1)
    return (x @ w.to(x.device)).reshape(-1)
