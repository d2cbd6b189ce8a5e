# RIGHT: the response sums with torch.masked.sum (mask= the boolean mask; masked-out entries never enter) and counts with the same, clamped to 1.
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    def avg(p, r, m):
        mb = m.bool()
        total = torch.masked.sum(p - r, -1, mask=mb)
        count = mb.sum(-1).clamp(min=1).to(p.dtype)
        return total / count
    c = avg(policy_chosen_logps, ref_chosen_logps, chosen_mask)
    r = avg(policy_rejected_logps, ref_rejected_logps, rejected_mask)
    loss = torch.square(c - r - 0.5 / beta).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
