# TRL's layout: desirable and undesirable losses concatenated, then one mean; 1 - sigmoid.
import torch
import torch.nn.functional as F


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if len(kl_policy_logps) == 0 or len(kl_ref_logps) == 0:
        raise ValueError("empty KL batch")
    kl = (kl_policy_logps - kl_ref_logps).mean().detach()
    kl = kl.clamp(min=0)
    mask = desirable.to(torch.bool)
    chosen = policy_logps[mask] - ref_logps[mask].detach()
    rejected = policy_logps[~mask] - ref_logps[~mask].detach()
    chosen_losses = 1 - F.sigmoid(beta * (chosen - kl))
    rejected_losses = 1 - F.sigmoid(beta * (kl - rejected))
    losses = torch.cat((desirable_weight * chosen_losses, undesirable_weight * rejected_losses), 0)
    rewards = beta * (policy_logps - ref_logps).detach()
    return losses.mean(), rewards, kl
