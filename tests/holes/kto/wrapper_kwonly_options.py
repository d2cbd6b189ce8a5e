# check: values
# status: error
# WRONG: a functools.wraps wrapper takes the options as keywords only: β passed by position raises TypeError
import functools
import torch


def _labels_as_bool(fn):
    @functools.wraps(fn)
    def wrapper(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, **options):
        return fn(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable.bool(), **options)
    return wrapper


@_labels_as_bool
def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()
    r = policy_logps - ref_logps.detach()
    losses = torch.where(desirable, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
