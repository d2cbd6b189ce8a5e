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
    # TODO: implement
    raise NotImplementedError
