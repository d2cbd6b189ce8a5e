import torch
from torch import Tensor


def ipo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    beta: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """IPO loss (Azar et al. 2023, eq. 17, with τ = β) on length-averaged log-ratios, as in TRL.

    Args:
        policy_chosen_logps: [B, Tc] per-token log-probs of the chosen response under the policy.
        policy_rejected_logps: [B, Tr] per-token log-probs of the rejected response under the policy.
        ref_chosen_logps: [B, Tc] the same under the frozen reference model.
        ref_rejected_logps: [B, Tr] the same under the frozen reference model.
        chosen_mask: [B, Tc] float, int or bool; 1 on response tokens, 0 on prompt and padding.
        rejected_mask: [B, Tr] likewise.
        beta: the regularisation strength τ; the target of h is 1 / (2β).

    Returns:
        loss: [] mean over the batch of (h - 1/(2β))², h the difference of averaged log-ratios.
        chosen_rewards: [B] β · averaged log-ratio of the chosen response, detached.
        rejected_rewards: [B] β · averaged log-ratio of the rejected response, detached.
    """
    # TODO: implement
    raise NotImplementedError
