# check: stability
# WRONG: the KL pairs' log-ratio is taken through probabilities, log(exp(kl_policy) / exp(kl_ref)): NaN once their log-probs are thousands of nats
import torch


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    with torch.no_grad():
        ratio = kl_policy_logps.exp() / kl_ref_logps.exp()   # π / π_ref on the mismatched pairs
        z0 = torch.log(ratio).mean().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    losses = torch.where(d, desirable_weight * torch.sigmoid(-beta * (r - z0)),
                         undesirable_weight * torch.sigmoid(-beta * (z0 - r)))
    return losses.mean(), (beta * r).detach(), z0
