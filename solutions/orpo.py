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
    chosen_mask = chosen_mask.to(policy_chosen_logps.dtype)
    rejected_mask = rejected_mask.to(policy_rejected_logps.dtype)

    # The SFT term is a causal LM's loss restricted to the response: every chosen token weighs
    # the same, so the batch's total token count is the denominator. (TRL also counts the prompt.)
    nll_loss = -(policy_chosen_logps * chosen_mask).sum() / chosen_mask.sum()

    # P(y|x) in the odds is the per-token average probability, in log space (m <= 0).
    chosen_avg = (policy_chosen_logps * chosen_mask).sum(-1) / chosen_mask.sum(-1)  # [B]
    rejected_avg = (policy_rejected_logps * rejected_mask).sum(-1) / rejected_mask.sum(-1)  # [B]

    # log odds(m) = log(e^m / (1 - e^m)) = m - log(1 - e^m), never leaving log space.
    # -expm1(m) = 1 - e^m without the cancellation that 1 - exp(m) suffers for m near 0,
    # and e^m underflowing to 0 at m = -1000 costs nothing here (log(1 - 0) = 0).
    def log_odds(m: Tensor) -> Tensor:
        return m - torch.log(-torch.expm1(m))

    log_odds_ratio = log_odds(chosen_avg) - log_odds(rejected_avg)  # [B]
    or_loss = -F.logsigmoid(log_odds_ratio).mean()

    loss = nll_loss + lam * or_loss
    return loss, nll_loss, or_loss
