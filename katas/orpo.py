import torch
import torch.nn.functional as F
from torch import Tensor


def orpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    lam: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """ORPO loss (Hong et al. 2024, eq. 6): the chosen response's NLL plus λ times the odds-ratio loss (eq. 7).

    Args:
        policy_chosen_logps: [B, Tc] per-token log-probs of the chosen response under the policy.
        policy_rejected_logps: [B, Tr] per-token log-probs of the rejected response under the policy.
        chosen_mask: [B, Tc] float, int or bool; 1 on response tokens, 0 on prompt and padding.
            Every row has at least one response token.
        rejected_mask: [B, Tr] likewise.
        lam: weight λ of the odds-ratio term.

    Returns:
        loss: [] nll_loss + λ·or_loss.
        nll_loss: [] mean of -log-prob over every chosen response token in the batch.
        or_loss: [] mean over the batch of -log σ(log odds(m_c) - log odds(m_r)),
            m the per-token mean log-prob of a response and log odds(m) = m - log(1 - e^m).
    """
    # TODO: implement
    raise NotImplementedError
