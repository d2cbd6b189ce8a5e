# check: values
# WRONG: the batch is processed in micro-batches of 8 and the loss is the mean of the micro-batch
# means, which weights a short last micro-batch too much (statement: one mean over all B examples)
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    loss = torch.stack([chunk.mean() for chunk in losses.split(8)]).mean()
    return loss, (beta * r).detach(), z0
