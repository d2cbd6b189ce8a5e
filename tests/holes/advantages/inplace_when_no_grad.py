# check: inputs_unchanged
# WRONG: rewards copied only when they carry a graph; otherwise the group mean is subtracted in place on a view of the caller's rewards (statement: inputs unchanged; the grader always passes rewards with requires_grad)
import torch
from torch import Tensor


def _grouped(rewards: Tensor, group_size: int) -> Tensor:
    """[B] -> [B/G, G]: rows g·G … g·G + G − 1 are the G completions of prompt g (contiguous)."""
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D [B], one reward per completion; got shape {list(rewards.shape)}")
    if group_size < 2:
        raise ValueError(f"group_size must be at least 2 (a group needs a spread and a baseline); got {group_size}")
    if rewards.shape[0] % group_size != 0:
        raise ValueError(f"B = {rewards.shape[0]} rewards do not split into groups of group_size = {group_size}")
    # Advantages are targets, not functions of the parameters: no graph, whatever `rewards` carries.
    return (rewards.detach().clone() if rewards.requires_grad else rewards).reshape(-1, group_size)


def group_advantages(rewards: Tensor, group_size: int, scale: str = "group", eps: float = 1e-4) -> Tensor:
    """Group-relative advantages of GRPO (Shao et al. 2024, §4.1.2; TRL's `scale_rewards`).

    Args:
        rewards: [B] one reward per completion; B = number of prompts × group_size, each
            prompt's completions in consecutive rows.
        group_size: G, completions per prompt (at least 2).
        scale: "group" divides by each group's standard deviation, "batch" by the standard
            deviation of all B rewards, "none" does not divide (Dr. GRPO, Liu et al. 2025).
        eps: added to the standard deviation, so a group of equal rewards gives zeros.

    Returns:
        advantages: [B] reward minus its group's mean, scaled as `scale` says; no graph.
    """
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"unknown scale {scale!r}; expected 'group', 'batch' or 'none'")
    grouped = _grouped(rewards, group_size)  # [B/G, G]
    # Every scale subtracts the group's mean: the baseline is the prompt's own mean reward.
    std = grouped.std(dim=1, keepdim=True) if scale == "group" else grouped.reshape(-1).std()
    advantages = grouped.sub_(grouped.mean(dim=1, keepdim=True))  # [B/G, G]
    if scale in ("group", "batch"):
        advantages = advantages / (std + eps)  # [B/G, G]
    return advantages.reshape(-1)  # [B]


def rloo_advantages(rewards: Tensor, group_size: int) -> Tensor:
    """REINFORCE leave-one-out advantages (RLOO; Ahmadian et al. 2024, after Kool et al. 2019).

    Args:
        rewards: [B] one reward per completion, groups of group_size consecutive rows.
        group_size: G, completions per prompt (at least 2).

    Returns:
        advantages: [B] each reward minus the mean of the other G − 1 rewards of its group; no graph.
    """
    grouped = _grouped(rewards, group_size)  # [B/G, G]
    others = (grouped.sum(dim=1, keepdim=True) - grouped) / (group_size - 1)  # [B/G, G] leave-one-out mean
    return (grouped - others).reshape(-1)  # [B]
