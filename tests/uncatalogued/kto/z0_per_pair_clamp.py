# check: values
# named: each KL pair's log-ratio clamped at 0 before the mean, instead of z0
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty KL inputs")
    z0 = (kl_policy_logps - kl_ref_logps).clamp(min=0).mean().detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    d_losses = desirable_weight * torch.sigmoid(-beta * (r - z0))
    u_losses = undesirable_weight * torch.sigmoid(-beta * (z0 - r))
    loss = torch.where(d, d_losses, u_losses).mean()
    return loss, (beta * r).detach(), z0
