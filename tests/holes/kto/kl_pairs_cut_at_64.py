# check: values
# WRONG: z0 is estimated from the first 64 mismatched pairs only (a fixed KL buffer of 64 rows), so
# the pairs past 64 are dropped (statement: z0 is the mean over all K pairs)
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps[:64] - kl_ref_logps[:64]).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
