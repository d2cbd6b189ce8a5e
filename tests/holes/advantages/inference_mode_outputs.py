# check: output_types
# WRONG: both functions under @torch.inference_mode(): the advantages are inference tensors, which a GRPO loss cannot save for backward
import torch


def _grouped(rewards, group_size):
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D [B]; got shape {list(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be at least 2; got {group_size}")
    if rewards.shape[0] % group_size:
        raise ValueError(f"B = {rewards.shape[0]} is not a multiple of group_size = {group_size}")
    return rewards.detach().reshape(-1, group_size)


@torch.inference_mode()
def group_advantages(rewards, group_size, scale="group", eps=1e-4):
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}; expected 'group', 'batch' or 'none'")
    x = _grouped(rewards, group_size)
    a = x - x.mean(dim=1, keepdim=True)
    if scale == "group":
        a = a / (x.std(dim=1, keepdim=True) + eps)
    elif scale == "batch":
        a = a / (x.reshape(-1).std() + eps)
    return a.reshape(-1)


@torch.inference_mode()
def rloo_advantages(rewards, group_size):
    x = _grouped(rewards, group_size)
    return (x - (x.sum(dim=1, keepdim=True) - x) / (group_size - 1)).reshape(-1)
