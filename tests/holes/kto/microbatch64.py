# check: values
# WRONG: micro-batches of 64 examples, the loss a mean of the micro-batch means: a short last micro-batch is over-weighted
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    means = [chunk.mean() for chunk in losses.split(64)]
    return torch.stack(means).mean(), (beta * r).detach(), z0
