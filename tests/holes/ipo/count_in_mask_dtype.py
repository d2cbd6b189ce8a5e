# check: values
# WRONG: each response's token count is summed in its integer mask's own dtype: an int8 mask wraps past 127 tokens, uint8 past 255.
import torch


def _count(m):
    if m.dtype in (torch.int8, torch.uint8, torch.int16, torch.int32):
        return m.sum(-1, dtype=m.dtype)
    return m.sum(-1)


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(dt)).sum(-1) / _count(chosen_mask).clamp(min=1).to(dt)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(dt)).sum(-1) / _count(rejected_mask).clamp(min=1).to(dt)
    h = c - r
    loss = ((h - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
