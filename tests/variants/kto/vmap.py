# The loss of one example mapped over the batch with torch.func.vmap (the label picked with torch.where); z0 under torch.no_grad with clamp_min.
import torch
from torch.func import vmap


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps / kl_ref_logps: cannot estimate z0")
    with torch.no_grad():
        z0 = torch.clamp_min(torch.mean(kl_policy_logps - kl_ref_logps), 0.0)

    def one(p, q, d):
        r = p - q
        good = desirable_weight * torch.sigmoid(beta * (z0 - r))
        bad = undesirable_weight * torch.sigmoid(beta * (r - z0))
        return torch.where(d, good, bad)

    losses = vmap(one)(policy_logps, ref_logps.detach(), desirable.bool())
    rewards = vmap(lambda p, q: beta * (p - q))(policy_logps.detach(), ref_logps.detach())
    return losses.mean(), rewards, z0
