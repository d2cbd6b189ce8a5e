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
    chosen_mask = chosen_mask.to(policy_chosen_logps.dtype)
    rejected_mask = rejected_mask.to(policy_rejected_logps.dtype)

    # Averaged over the response's tokens, not summed (a deviation from the paper, as in TRL's
    # DPOTrainer): a sum grows with the response's length while the target 1/(2β) does not.
    # The token count is clamped to 1 so that an empty response gives 0, not 0 / 0 = NaN.
    chosen_logratio = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask).sum(-1) \
        / chosen_mask.sum(-1).clamp(min=1)  # [B]
    rejected_logratio = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask).sum(-1) \
        / rejected_mask.sum(-1).clamp(min=1)  # [B]

    h = chosen_logratio - rejected_logratio  # [B]
    # Eq. 17: regress h onto the finite target τ⁻¹/2 = 1/(2β). Unlike DPO's -log σ(β·h), the loss
    # has its minimum at a finite margin, so π(y_l) is not pushed to 0.
    loss = ((h - 1 / (2 * beta)) ** 2).mean()

    chosen_rewards = (beta * chosen_logratio).detach()
    rejected_rewards = (beta * rejected_logratio).detach()
    return loss, chosen_rewards, rejected_rewards
