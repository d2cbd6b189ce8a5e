import torch
from torch import Tensor


def kto_loss(
    policy_logps: Tensor,
    ref_logps: Tensor,
    kl_policy_logps: Tensor,
    kl_ref_logps: Tensor,
    desirable: Tensor,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """KTO loss (Ethayarajh et al. 2024, eq. 7), on unpaired examples, as TRL's KTOTrainer computes it.

    Args:
        policy_logps: [B] sequence log-probs of each completion under the policy.
        ref_logps: [B] the same under the frozen reference model (a constant).
        kl_policy_logps: [K] policy log-probs of mismatched (prompt, completion) pairs; K may differ from B.
        kl_ref_logps: [K] the same under the reference model.
        desirable: [B] bool (or 0/1 integers): True where the completion is labelled desirable.
        beta: scale of the implicit reward.
        desirable_weight, undesirable_weight: λ_D and λ_U of the paper.

    Returns:
        loss: [] mean over all B examples of each one's weighted loss.
        rewards: [B] β·(policy_logps − ref_logps), detached.
        kl: [] the reference point z0, detached.
    """
    # TODO: implement
    raise NotImplementedError
