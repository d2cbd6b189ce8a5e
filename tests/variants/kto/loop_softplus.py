# A loop over examples; σ(-x) written as exp(-softplus(x)); z0 computed under no_grad.
import torch
import torch.nn.functional as F


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0:
        raise ValueError("kl_policy_logps is empty")
    if kl_ref_logps.numel() == 0:
        raise ValueError("kl_ref_logps is empty")
    with torch.no_grad():
        z0 = torch.clamp((kl_policy_logps - kl_ref_logps).mean(), min=0.0)
    total = policy_logps.new_zeros(())
    for i in range(policy_logps.shape[0]):
        r = policy_logps[i] - ref_logps[i].detach()
        if bool(desirable[i]):
            total = total + desirable_weight * torch.exp(-F.softplus(beta * (r - z0)))
        else:
            total = total + undesirable_weight * torch.exp(-F.softplus(beta * (z0 - r)))
    rewards = beta * (policy_logps.detach() - ref_logps.detach())
    return total / policy_logps.shape[0], rewards, z0
