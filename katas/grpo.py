import torch
from torch import Tensor

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
IMPORTANCE_SAMPLING_LEVELS = ("token", "sequence")


def grpo_loss(
    logps: Tensor,
    old_logps: Tensor,
    ref_logps: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    beta: float = 0.04,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
    loss_type: str = "grpo",
    max_completion_length: int | None = None,
    importance_sampling_level: str = "token",
) -> tuple[Tensor, Tensor, Tensor]:
    """The GRPO loss (Shao et al. 2024, eq. 3) with the variants that fixed its biases, as TRL's
    GRPOTrainer computes it: Dr. GRPO's constant normaliser (Liu et al. 2025), DAPO's token-level
    mean and clip-higher (Yu et al. 2025), GSPO's sequence-level ratio (Zheng et al. 2025).

    Args:
        logps: [B, T] per-token log-probs of the B completions under the policy being trained.
        old_logps: [B, T] the same under the policy that sampled them (a constant).
        ref_logps: [B, T] the same under the frozen reference model (a constant), or None when beta == 0.
        advantages: [B] one advantage per completion (a constant), e.g. group-normalised rewards.
        mask: [B, T] float (in the log-probs' dtype), int or bool; 1 on counted tokens, any 0/1 pattern.
        beta: weight of the k3 estimate of KL(π ‖ π_ref) added at every token.
        epsilon_low: the ratio is clipped below at 1 - epsilon_low.
        epsilon_high: the ratio is clipped above at 1 + epsilon_high (DAPO's clip-higher when larger).
        loss_type: "grpo" (mean per completion, then over completions), "bnpo" (mean over all the
            batch's tokens) or "dr_grpo" (sum over tokens / (B · max_completion_length)).
        max_completion_length: the "dr_grpo" normaliser's length; None means T.
        importance_sampling_level: "token" (one ratio per token) or "sequence" (GSPO: one per completion).

    Returns:
        loss: [] the loss to minimise, with its graph.
        mean_kl: [] the mean of k3 over the batch's tokens (0 without ref_logps), detached.
        clip_fraction: [] the fraction of the batch's tokens clipped in their advantage's direction, detached.
    """
    # TODO: implement
    raise NotImplementedError
