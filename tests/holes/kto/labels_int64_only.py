# check: values
# status: error
# WRONG: refuses int32, int8 and uint8 labels (any integer width is in range)
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    if desirable.dtype not in (torch.bool, torch.int64):
        raise ValueError(f"desirable must be bool or int64 0/1 labels, got {desirable.dtype}")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
