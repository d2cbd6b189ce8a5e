import torch
import torch.nn.functional as F
from torch import Tensor


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    beta: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """Masked DPO loss (Rafailov et al. 2023, eq. 7).

    Args:
        policy_chosen_logps: [B, Tc] per-token log-probs of the chosen response under the policy.
        policy_rejected_logps: [B, Tr] per-token log-probs of the rejected response under the policy.
        ref_chosen_logps: [B, Tc] the same under the frozen reference model.
        ref_rejected_logps: [B, Tr] the same under the frozen reference model.
        chosen_mask: [B, Tc] float, int or bool; 1 on response tokens, 0 on prompt and padding.
        rejected_mask: [B, Tr] likewise.
        beta: strength of the implicit KL penalty.

    Returns:
        loss: [] mean over the batch of -log σ(β·h).
        chosen_rewards: [B] β·(log π(y_c) - log π_ref(y_c)), detached.
        rejected_rewards: [B] β·(log π(y_r) - log π_ref(y_r)), detached.
    """
    chosen_mask = chosen_mask.to(policy_chosen_logps.dtype)
    rejected_mask = rejected_mask.to(policy_rejected_logps.dtype)

    # A sequence's log-prob is the sum of its response tokens' log-probs.
    chosen_logratio = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask).sum(-1)  # [B]
    rejected_logratio = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask).sum(-1)  # [B]

    h = chosen_logratio - rejected_logratio  # [B]
    # logsigmoid is stable for |β·h| in the thousands; log(sigmoid(x)) is -inf below about -100 in float32.
    loss = -F.logsigmoid(beta * h).mean()

    chosen_rewards = (beta * chosen_logratio).detach()
    rejected_rewards = (beta * rejected_logratio).detach()
    return loss, chosen_rewards, rejected_rewards
