# check: keeps_graph
# WRONG: with vf_coef = 0, value_loss built from values.detach(): in training (constants without a graph) it has no graph for the critic
import torch
from torch import Tensor


def ppo_loss(
    logps: Tensor,
    old_logps: Tensor,
    advantages: Tensor,
    values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
    value_clip_eps: float = 0.2,
    vf_coef: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """PPO's clipped surrogate loss (Schulman et al. 2017, eq. 7) with a clipped value loss.

    Args:
        logps: [B, T] per-token log-probs of the sampled tokens under the policy being trained.
        old_logps: [B, T] the same tokens' log-probs under the policy that sampled them (a constant).
        advantages: [B, T] per-token advantages (a constant).
        values: [B, T] the critic's current value estimates.
        old_values: [B, T] the critic's estimates at sampling time (a constant).
        returns: [B, T] the value targets (a constant).
        mask: [B, T] float (in the inputs' dtype), int or bool; 1 on counted tokens, any 0/1 pattern.
              A row may be empty.
        clip_eps: ε, the policy ratio is clipped to [1 - ε, 1 + ε].
        value_clip_eps: ε_v, the value may move at most ε_v from old_values before clipping.
        vf_coef: weight of the value loss.

    Returns:
        loss: [] policy_loss + vf_coef·value_loss.
        policy_loss: [] token mean of max(-A·ratio, -A·clamp(ratio, 1 - ε, 1 + ε)).
        value_loss: [] half the token mean of max((V - R)², (V_clip - R)²).
        clip_fraction: [] token mean of "the clipped term was strictly larger", detached.
    """
    # Constants of the objective: the ratio's gradient must come from logps alone.
    old_logps, advantages = old_logps.detach(), advantages.detach()
    if vf_coef != 0:
        old_values, returns = old_values.detach(), returns.detach()
    else:
        values = values.detach()  # 'critic trained elsewhere: no gradient from this loss'
    mask = mask.to(logps.dtype)  # [B, T]
    # Token-weighted: every response token in the batch weighs the same; an empty batch gives 0.
    count = mask.sum().clamp(min=1.0)  # []

    # Eq. 7: L^CLIP = E[min(r·A, clip(r, 1 - ε, 1 + ε)·A)]; as a loss to minimise, the max of
    # the negated terms. Subtracting log-probs, never dividing probabilities: exp(-200) is 0
    # in float32.
    ratio = torch.exp(logps - old_logps)  # [B, T]
    unclipped = -advantages * ratio  # [B, T]
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)  # [B, T]
    per_token = torch.maximum(unclipped, clipped)  # [B, T]
    policy_loss = (per_token * mask).sum() / count

    # Value clipping as in OpenAI baselines' ppo2 and TRL's former PPOTrainer: the new value may
    # move at most ε_v away from the value at sampling time, and the worse of the two errors counts.
    v_clip = old_values + torch.clamp(values - old_values, -value_clip_eps, value_clip_eps)  # [B, T]
    per_token_v = torch.maximum((values - returns) ** 2, (v_clip - returns) ** 2)  # [B, T]
    value_loss = 0.5 * (per_token_v * mask).sum() / count

    loss = policy_loss + vf_coef * value_loss if vf_coef != 0 else policy_loss
    # Clipping is active where the clipped term won the max: there the token's gradient is 0.
    # Strictly larger: inside the band both terms are equal and nothing is clipped.
    clip_fraction = (((clipped > unclipped).to(logps.dtype) * mask).sum() / count).detach()
    return loss, policy_loss, value_loss, clip_fraction
