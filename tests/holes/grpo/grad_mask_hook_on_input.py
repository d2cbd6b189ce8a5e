# check: inputs_unchanged
# WRONG: padding's gradient zeroed by a hook registered on the caller's logps, which stays there and multiplies every later backward by this call's mask
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
    B, T = logps.shape
    if advantages.shape != (B,):
        raise ValueError(f"advantages must have shape [B] = [{B}] (one per completion), got {list(advantages.shape)}")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {', '.join(LOSS_TYPES)}")
    if importance_sampling_level not in IMPORTANCE_SAMPLING_LEVELS:
        raise ValueError(f"unknown importance_sampling_level {importance_sampling_level!r}; "
                         f"expected one of {', '.join(IMPORTANCE_SAMPLING_LEVELS)}")
    if beta > 0 and ref_logps is None:
        raise ValueError("beta > 0 needs ref_logps: the KL term compares the policy with the reference model")
    if max_completion_length is not None and max_completion_length < T:
        raise ValueError(f"max_completion_length ({max_completion_length}) is below the completions' length T = {T}")

    m = mask.to(logps.dtype)  # [B, T]
    if logps.requires_grad:  # make sure padding gets exactly zero gradient
        _keep = m.detach().clone()
        logps.register_hook(lambda g: g * _keep)
    count = m.sum(-1)  # [B] tokens per completion
    # The samples' probabilities and the advantages are constants of the objective: no gradient
    # flows into them (with old_logps attached, the ratio would be exp(0) with zero gradient on-policy).
    old_logps = old_logps.detach()
    adv = advantages.detach().unsqueeze(1)  # [B, 1]: one advantage for all of a completion's tokens

    log_ratio = logps - old_logps  # [B, T]
    if importance_sampling_level == "token":
        log_weight = log_ratio  # [B, T]: ρ_t = π(o_t) / π_old(o_t)
    else:
        # GSPO, eq. 7: s_i = (π(o_i) / π_old(o_i))^(1/|o_i|), the exp of the mean token log-ratio over
        # the completion's own tokens (an empty completion's mean is 0: its ratio is 1).
        log_weight = ((log_ratio * m).sum(-1) / count.clamp(min=1)).unsqueeze(1)  # [B, 1]
    ratio = torch.exp(log_weight)  # [B, T] or [B, 1]
    clipped_ratio = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    # PPO's pessimistic bound (Schulman et al. 2017, eq. 7), per token; the min picks the clipped
    # term only when the ratio has left the trust region in the advantage's direction.
    per_token = -torch.min(ratio * adv, clipped_ratio * adv)  # [B, T] or [B, 1]
    per_token = per_token.expand(B, T)  # [B, T]: under "sequence", every token carries its completion's term

    if ref_logps is not None:
        # k3 (Schulman 2020): exp(d) - d - 1 with d = ref - logps; unbiased for KL(π ‖ π_ref) on samples
        # of π, and never negative. GRPO adds it to the loss (eq. 4) instead of to the reward.
        d = ref_logps.detach() - logps  # [B, T]
        kl = torch.exp(d) - d - 1  # [B, T]
        per_token = per_token + beta * kl
        mean_kl = ((kl * m).sum() / m.sum().clamp(min=1)).detach()
    else:
        mean_kl = logps.new_zeros(())

    if loss_type == "grpo":
        # Eq. 3: 1/G Σ_i 1/|o_i| Σ_t. Per-completion means weight a short completion's tokens more
        # (the length bias Dr. GRPO points out); an empty completion contributes 0 and still counts in B.
        loss = ((per_token * m).sum(-1) / count.clamp(min=1)).mean()
    elif loss_type == "bnpo":
        # DAPO, eq. 8: every token of the batch weighs the same.
        loss = (per_token * m).sum() / m.sum().clamp(min=1)
    else:
        # Dr. GRPO: a constant normaliser, so neither a completion's length nor the batch's token
        # count rescales any token's gradient.
        length = T if max_completion_length is None else max_completion_length
        loss = (per_token * m).sum() / (B * length)

    # Clipped in the advantage's direction: the min chose the constant clipped term (zero gradient).
    # As TRL's "clip_ratio/region_mean", but under "sequence" every token of a clipped completion counts.
    is_clipped = ((ratio > 1 + epsilon_high) & (adv > 0)) | ((ratio < 1 - epsilon_low) & (adv < 0))  # [B, T] or [B, 1]
    clip_fraction = ((is_clipped.to(logps.dtype).expand(B, T) * m).sum() / m.sum().clamp(min=1)).detach()
    return loss, mean_kl, clip_fraction
