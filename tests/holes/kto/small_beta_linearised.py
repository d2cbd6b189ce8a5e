# check: values
# WRONG: for β below 0.05 the sigmoid is replaced by its first-order expansion 1/2 - x/4, "exact
# enough for small β", which it is not once |r - z0| reaches tens of nats (statement: β from 0.01)
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    one_minus_sigmoid = (lambda x: 0.5 - x / 4) if beta < 0.05 else (lambda x: torch.sigmoid(-x))
    losses = torch.where(d, desirable_weight * one_minus_sigmoid(beta * (r - z0)),
                         undesirable_weight * one_minus_sigmoid(beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
