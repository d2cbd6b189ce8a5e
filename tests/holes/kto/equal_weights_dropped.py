# check: values
# WRONG: equal weights are skipped ('only their ratio matters'), so 2 and 2 give an unweighted loss
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    dl = torch.sigmoid(-beta * (r - z0))
    ul = torch.sigmoid(-beta * (z0 - r))
    if desirable_weight != undesirable_weight:  # the weights only rebalance the two labels
        dl, ul = desirable_weight * dl, undesirable_weight * ul
    return torch.where(d, dl, ul).mean(), (beta * r).detach(), z0
