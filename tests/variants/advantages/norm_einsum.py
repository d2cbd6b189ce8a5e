# Group means by einsum with a one-hot membership matrix in the rewards' dtype, the std as
# ||r - mean||_2 / sqrt(G - 1) (vector_norm); RLOO as G/(G-1) × the mean-baseline advantage; no_grad.
import math
import torch


def _membership(rewards, group_size):
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be [B], got shape {tuple(rewards.shape)}")
    if group_size < 2 or rewards.shape[0] % group_size != 0:
        raise ValueError(f"group_size must be >= 2 and divide B={rewards.shape[0]}; got {group_size}")
    ids = torch.arange(rewards.shape[0], device=rewards.device) // group_size
    return torch.nn.functional.one_hot(ids).to(rewards.dtype)  # [B, n]


@torch.no_grad()
def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be one of 'group', 'batch', 'none'; got {scale!r}")
    onehot = _membership(rewards, group_size)
    r = rewards.detach()
    means = torch.einsum("bn,b->n", onehot, r) / group_size  # [n]
    a = r - onehot @ means
    if scale == "group":
        std = torch.linalg.vector_norm(a.view(-1, group_size), dim=1) / math.sqrt(group_size - 1)  # [n]
        a = a / (onehot @ std + eps)
    elif scale == "batch":
        std = torch.linalg.vector_norm(r - r.mean()) / math.sqrt(r.shape[0] - 1)
        a = a / (std + eps)
    return a.clone()


@torch.no_grad()
def rloo_advantages(rewards, group_size):
    onehot = _membership(rewards, group_size)
    r = rewards.detach()
    means = torch.einsum("bn,b->n", onehot, r) / group_size
    return (group_size / (group_size - 1)) * (r - onehot @ means)
