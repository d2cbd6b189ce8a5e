# check: values
# WRONG: z0 cached per KL tensor object, so KL buffers refilled in place for the next step get the previous step's z0
import weakref
import torch

_Z0 = {}  # id(kl_policy_logps) -> (weakref, weakref, z0)


def _z0(kl_policy_logps, kl_ref_logps):
    hit = _Z0.get(id(kl_policy_logps))
    if hit is not None and hit[0]() is kl_policy_logps and hit[1]() is kl_ref_logps:
        return hit[2]
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).mean().clamp(min=0)
    try:
        _Z0[id(kl_policy_logps)] = (weakref.ref(kl_policy_logps), weakref.ref(kl_ref_logps), z0)
    except TypeError:
        pass
    return z0


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    z0 = _z0(kl_policy_logps, kl_ref_logps)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0.clone()
