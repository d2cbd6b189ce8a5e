# check: output_types
# WRONG: r is .squeeze()d, so at B = 1 the rewards come back [] instead of [1]
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = (policy_logps - ref_logps.detach()).squeeze()
    d = desirable.bool().squeeze()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
