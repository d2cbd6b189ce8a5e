# check: bad_input
# WRONG: scale='none' groups by index (arange(B)//G, index_add) and so never checks that B is a multiple of G;
# B=12, G=5, scale='none' returns a silently wrong result instead of raising ValueError as the statement requires
import torch
from torch import Tensor


def _check_common(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D, got {list(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be >= 2, got {group_size}")


def group_advantages(rewards: Tensor, group_size: int, scale: str = "group", eps: float = 1e-4) -> Tensor:
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}")
    _check_common(rewards, group_size)
    r = rewards.detach()
    if scale == "none":
        # Dr. GRPO: only a group mean is needed, index_add over group ids
        ids = torch.arange(r.shape[0], device=r.device) // group_size
        n = int(ids.max()) + 1 if r.numel() else 0
        sums = torch.zeros(n, dtype=r.dtype, device=r.device).index_add_(0, ids, r)
        counts = torch.zeros(n, dtype=r.dtype, device=r.device).index_add_(0, ids, torch.ones_like(r))
        return r - (sums / counts)[ids]
    if r.shape[0] % group_size != 0:
        raise ValueError(f"B={r.shape[0]} is not a multiple of group_size={group_size}")
    x = r.reshape(-1, group_size)
    a = x - x.mean(1, keepdim=True)
    if scale == "group":
        a = a / (x.std(1, keepdim=True) + eps)
    else:
        a = a / (r.std() + eps)
    return a.reshape(-1)


def rloo_advantages(rewards: Tensor, group_size: int) -> Tensor:
    _check_common(rewards, group_size)
    if rewards.shape[0] % group_size != 0:
        raise ValueError(f"B={rewards.shape[0]} is not a multiple of group_size={group_size}")
    x = rewards.detach().reshape(-1, group_size)
    others = (x.sum(1, keepdim=True) - x) / (group_size - 1)
    return (x - others).reshape(-1)
