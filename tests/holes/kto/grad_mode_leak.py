# check: inputs_unchanged
# WRONG: z0 is computed between set_grad_enabled(False) and set_grad_enabled(True): called under torch.no_grad() it leaves grad mode on for the caller
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    torch.set_grad_enabled(False)
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0)
    torch.set_grad_enabled(True)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
