# check: values
# WRONG: the loss is the weighted average sum(w_i·l_i) / sum(w_i), not the mean of w_i·l_i over B
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    w = torch.where(d, desirable_weight, undesirable_weight).to(r.dtype)
    l = torch.where(d, torch.sigmoid(-beta * (r - z0)), torch.sigmoid(-beta * (z0 - r)))
    return (w * l).sum() / w.sum(), (beta * r).detach(), z0
