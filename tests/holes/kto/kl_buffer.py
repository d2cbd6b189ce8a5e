# check: values
# WRONG: kl is returned in a module-level buffer that the next call overwrites in place
import torch

_KL_BUFFERS: dict = {}


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    key = (policy_logps.dtype, policy_logps.device)
    if key not in _KL_BUFFERS:
        _KL_BUFFERS[key] = torch.zeros((), dtype=policy_logps.dtype, device=policy_logps.device)
    z0 = _KL_BUFFERS[key]
    with torch.no_grad():
        z0.copy_((kl_policy_logps - kl_ref_logps).mean().clamp(min=0))
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
