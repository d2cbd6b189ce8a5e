# A correct SimPO: m by torch.nanmean over NaN-masked log-probs, the loss as F.binary_cross_entropy_with_logits(z, 1), rewards under torch.no_grad.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    c = torch.nanmean(policy_chosen_logps.masked_fill(~chosen_mask.bool(), float("nan")), dim=-1)
    r = torch.nanmean(policy_rejected_logps.masked_fill(~rejected_mask.bool(), float("nan")), dim=-1)
    z = beta * (c - r) - gamma
    loss = F.binary_cross_entropy_with_logits(z, torch.ones_like(z))
    with torch.no_grad():
        cr, rr = beta * c, beta * r
    return loss, cr, rr
