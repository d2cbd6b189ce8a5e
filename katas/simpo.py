import torch
import torch.nn.functional as F
from torch import Tensor


def simpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    beta: float = 2.0,
    gamma: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """SimPO loss (Meng et al. 2024, eq. 6): length-normalised rewards, a target margin, no reference model.

    Args:
        policy_chosen_logps: [B, Tc] per-token log-probs of the chosen response under the policy.
        policy_rejected_logps: [B, Tr] per-token log-probs of the rejected response under the policy.
        chosen_mask: [B, Tc] float, int or bool; 1 on response tokens, 0 on prompt and padding.
            Every row has at least one response token.
        rejected_mask: [B, Tr] likewise.
        beta: scale of the reward (SimPO uses 2 to 10, far larger than DPO's β).
        gamma: the target reward margin itself, in reward units (TRL's `simpo_gamma`).

    Returns:
        loss: [] mean over the batch of -log σ(β·(m_c - m_r) - γ), m the per-token mean log-prob.
        chosen_rewards: [B] β·m_c, detached.
        rejected_rewards: [B] β·m_r, detached.
    """
    # TODO: implement
    raise NotImplementedError
