# Computed in float32 inside and cast back; weights as a per-example tensor; torch.maximum for the clamp.
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if min(kl_policy_logps.numel(), kl_ref_logps.numel()) == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps need at least one element")
    dtype = policy_logps.dtype
    z0 = torch.maximum((kl_policy_logps.detach().float() - kl_ref_logps.detach().float()).mean(),
                       torch.zeros((), device=policy_logps.device))
    r = policy_logps.float() - ref_logps.detach().float()
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(r)  # margin above z0 for desirable, below for undesirable
    weight = torch.where(d, desirable_weight, undesirable_weight).to(r)
    losses = weight * torch.sigmoid(-sign * beta * (r - z0))
    return losses.mean().to(dtype), (beta * r).detach().to(dtype), z0.to(dtype)
