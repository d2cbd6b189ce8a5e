# check: bad_input
# WRONG: raises a bare ValueError with no message; the statement says 'raise ValueError with a message'
import torch
from torch import Tensor


def _grouped(rewards: Tensor, group_size: int) -> Tensor:
    """[B] -> [B/G, G]: rows g·G … g·G + G − 1 are the G completions of prompt g (contiguous)."""
    if rewards.dim() != 1:
        raise ValueError
    if group_size < 2:
        raise ValueError
    if rewards.shape[0] % group_size != 0:
        raise ValueError
    # Advantages are targets, not functions of the parameters: no graph, whatever `rewards` carries.
    return rewards.detach().reshape(-1, group_size)


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
        raise ValueError
    grouped = _grouped(rewards, group_size)  # [B/G, G]
    # Every scale subtracts the group's mean: the baseline is the prompt's own mean reward.
    advantages = grouped - grouped.mean(dim=1, keepdim=True)  # [B/G, G]
    if scale == "group":
        # torch.std applies Bessel's correction (divides by G − 1), as GRPO's implementations do.
        advantages = advantages / (grouped.std(dim=1, keepdim=True) + eps)  # [B/G, G]
    elif scale == "batch":
        # The batch's spread (Bessel, over all B rewards), but still each group's own mean.
        advantages = advantages / (grouped.reshape(-1).std() + eps)  # [B/G, G]
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
