# check: values
# named: the mean of the desirable and the undesirable examples' means instead of the mean over all B examples
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty KL inputs")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    d_losses = desirable_weight * torch.sigmoid(-beta * (r - z0))
    u_losses = undesirable_weight * torch.sigmoid(-beta * (z0 - r))
    loss = (d_losses[d].mean() + u_losses[~d].mean()) / 2  # balance the two kinds
    return loss, (beta * r).detach(), z0
