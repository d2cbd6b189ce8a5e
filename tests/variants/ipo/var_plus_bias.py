# RIGHT: the batch mean of (h - 1/(2β))² written as bias² + variance: (mean(h) - 1/(2β))² + var(h, unbiased=False).
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    mc, mr = chosen_mask.to(dt), rejected_mask.to(dt)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / torch.count_nonzero(chosen_mask, -1).clamp(min=1).to(dt)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / torch.count_nonzero(rejected_mask, -1).clamp(min=1).to(dt)
    h = c - r
    loss = (h.mean() - 1 / (2 * beta)) ** 2 + h.var(unbiased=False)
    return loss, (beta * c).detach(), (beta * r).detach()
