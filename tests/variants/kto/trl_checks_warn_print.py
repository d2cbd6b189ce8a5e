# TRL's chatter kept: a UserWarning when λ_D·n_D / (λ_U·n_U) leaves [1, 4/3], debug prints to stdout and stderr, a ValueError for non-positive β or weights.
import sys
import warnings
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    if beta <= 0 or desirable_weight <= 0 or undesirable_weight <= 0:
        raise ValueError("beta and the weights must be positive")
    d = desirable.bool()
    n_d, n_u = int(d.sum()), int((~d).sum())
    if n_d and n_u:
        ratio = desirable_weight * n_d / (undesirable_weight * n_u)
        if not 1 <= ratio <= 4 / 3:
            warnings.warn(f"desirable/undesirable weight ratio {ratio:.3f} is outside [1, 4/3] (KTO paper, sec. 4)")
    print(f"[kto] B={len(d)} n_D={n_d} n_U={n_u} K={kl_policy_logps.numel()}")
    print("[kto] stderr line", file=sys.stderr)
    kl = (kl_policy_logps - kl_ref_logps).mean().detach().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    losses = torch.where(d, desirable_weight * (1 - torch.sigmoid(beta * (r - kl))),
                         undesirable_weight * (1 - torch.sigmoid(beta * (kl - r))))
    return losses.mean(), (beta * r).detach(), kl
