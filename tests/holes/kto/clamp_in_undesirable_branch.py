# check: values
# WRONG: z0 is clamped at 0 inside the `if any undesirable` branch only: an all-desirable batch with a negative KL estimate uses and returns the unclamped z0
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    kl = (kl_policy_logps - kl_ref_logps).mean().detach()
    d = desirable.bool()
    r = policy_logps - ref_logps.detach()
    losses = torch.zeros_like(r)
    if bool((~d).any()):
        kl = torch.relu(kl)
        losses = torch.where(~d, undesirable_weight * torch.sigmoid(beta * (r - kl)), losses)
    if bool(d.any()):
        losses = torch.where(d, desirable_weight * torch.sigmoid(beta * (kl - r)), losses)
    return losses.mean(), (beta * r).detach(), kl
