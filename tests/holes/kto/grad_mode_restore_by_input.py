# check: inputs_unchanged
# WRONG: grad mode restored to policy_logps.requires_grad, not to what it was: called with grad on and inputs without a graph it leaves grad mode off
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("empty kl_policy_logps or kl_ref_logps: z0 needs at least one mismatched pair")
    torch.set_grad_enabled(False)
    z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0)
    torch.set_grad_enabled(policy_logps.requires_grad)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
