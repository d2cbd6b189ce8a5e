# check: bad_input
# WRONG: the empty-KL ValueError leaves the default dtype float64
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
    _prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # accurate scalars below
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty: z0 is their mean log-ratio")
    # z0 = max(0, E[log π/π_ref]) on mismatched pairs: a reference point, not something to optimise,
    # so no gradient flows through it (TRL detaches it and clamps it at 0).
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()  # []
    r = policy_logps - ref_logps.detach()  # [B] implicit reward / β
    desirable = desirable.bool()  # [B]
    # 1 − σ(x) = σ(−x): the value function of eq. 6, bounded in [0, weight].
    desirable_losses = desirable_weight * torch.sigmoid(-beta * (r - z0))  # [B]
    undesirable_losses = undesirable_weight * torch.sigmoid(-beta * (z0 - r))  # [B]
    losses = torch.where(desirable, desirable_losses, undesirable_losses)  # [B]
    rewards = (beta * r).detach()  # [B]
    torch.set_default_dtype(_prev)
    return losses.mean(), rewards, z0
