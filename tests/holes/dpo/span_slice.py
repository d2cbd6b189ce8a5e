# check: values
# WRONG: each response summed over the span from its first to its last counted token, so a masked turn inside a response (a multi-turn mask) is counted.
import torch
import torch.nn.functional as F


def _span_sum(lp, mask):
    m = mask.to(torch.bool)
    T = m.shape[-1]
    pos = torch.arange(T, device=lp.device)
    first = torch.where(m, pos, T).min(-1).values
    last = torch.where(m, pos, -1).max(-1).values
    span = (pos >= first[:, None]) & (pos <= last[:, None])
    return (lp * span.to(lp.dtype)).sum(-1)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = _span_sum(policy_chosen_logps - ref_chosen_logps, chosen_mask)
    r = _span_sum(policy_rejected_logps - ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
