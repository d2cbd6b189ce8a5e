# check: inputs_unchanged
# WRONG: rewards and values are copied only when they carry a graph; a rollout's tensors (no graph, the normal case) get their padding zeroed in place: the caller's rewards and values change (statement: inputs unchanged; the grader always passes them with requires_grad)
import torch
from torch import Tensor


def gae(
    rewards: Tensor,
    values: Tensor,
    mask: Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16) over right-padded responses.

    δ_t = r_t + γ·V_{t+1}·m_{t+1} - V_t            (the value after a row's last token is 0)
    A_t = δ_t + γ·λ·m_{t+1}·A_{t+1}               (computed backwards from t = T - 1)
    returns_t = A_t + V_t                          (the critic's regression target)

    Args:
        rewards: [B, T] per-token rewards; arbitrary finite numbers at padding positions.
        values: [B, T] the critic's value of each position; arbitrary finite numbers at padding.
        mask: [B, T] float, int or bool; ones on the response, then zeros (right padding).
        gamma: the discount γ.
        lam: the GAE parameter λ (0: one-step TD errors; 1: Monte Carlo returns minus V).

    Returns:
        advantages: [B, T] A_t on response tokens, 0 at padding; no autograd graph, no whitening.
        returns: [B, T] A_t + V_t on response tokens, 0 at padding; no autograd graph.
    """
    # Targets, not functions of the parameters: nothing here may carry a graph.
    # Targets: cut the graph (with a copy, so that the in-place masking below cannot touch it).
    rewards = rewards.detach().clone() if rewards.requires_grad else rewards
    values = values.detach().clone() if values.requires_grad else values
    m = mask.to(rewards.dtype)  # [B, T]
    # Padding may hold anything finite: zero it before it can reach a response token.
    r, v = rewards.mul_(m), values.mul_(m)  # [B, T]
    batch, length = r.shape
    zero = r.new_zeros(batch)  # [B]: the value (and the advantage) after the last position
    advantages = torch.zeros_like(r)  # [B, T]
    next_value, next_adv, next_m = zero, zero, zero
    for t in reversed(range(length)):
        delta = r[:, t] + gamma * next_value * next_m - v[:, t]  # [B]  eq. 16's δ_t
        next_adv = (delta + gamma * lam * next_m * next_adv) * m[:, t]  # [B]  A_t, 0 at padding
        advantages[:, t] = next_adv
        next_value, next_m = v[:, t], m[:, t]
    returns = (advantages + v) * m  # [B, T]
    return advantages, returns
