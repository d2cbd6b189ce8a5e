# Group ids and index_add_ sums instead of a reshape; std_mean; the whole function under no_grad.
import torch


def _ids(rewards, group_size):
    if rewards.dim() != 1 or group_size < 2 or rewards.shape[0] % group_size != 0:
        raise ValueError(f"need 1-D rewards and group_size >= 2 dividing B; got {tuple(rewards.shape)}, {group_size}")
    return torch.arange(rewards.shape[0], device=rewards.device) // group_size


@torch.no_grad()
def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale: {scale}")
    ids = _ids(rewards, group_size)
    n = rewards.shape[0] // group_size
    sums = torch.zeros(n, dtype=rewards.dtype, device=rewards.device).index_add_(0, ids, rewards)
    dev = rewards - (sums / group_size)[ids]
    if scale == "group":
        sq = torch.zeros(n, dtype=rewards.dtype, device=rewards.device).index_add_(0, ids, dev * dev)
        return dev / ((sq / (group_size - 1)).sqrt() + eps)[ids]
    if scale == "batch":
        std, _ = torch.std_mean(rewards)
        return dev / (std + eps)
    return dev.clone()


@torch.no_grad()
def rloo_advantages(rewards, group_size):
    ids = _ids(rewards, group_size)
    sums = torch.zeros(rewards.shape[0] // group_size, dtype=rewards.dtype, device=rewards.device)
    sums.index_add_(0, ids, rewards)
    return rewards - (sums[ids] - rewards) / (group_size - 1)
