# RIGHT: -log σ(β·h) as F.binary_cross_entropy_with_logits(β·h, 1), sums by torch.where on the boolean masks, rewards under torch.no_grad.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    def seq(lp, m):
        return torch.where(m.bool(), lp, torch.zeros((), dtype=lp.dtype)).sum(-1)
    c = seq(policy_chosen_logps, chosen_mask) - seq(ref_chosen_logps, chosen_mask)
    r = seq(policy_rejected_logps, rejected_mask) - seq(ref_rejected_logps, rejected_mask)
    logits = beta * (c - r)
    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    with torch.no_grad():
        cr, rr = beta * c, beta * r
    return loss, cr, rr
