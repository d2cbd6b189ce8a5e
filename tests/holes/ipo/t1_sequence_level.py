# check: values
# WRONG: a [B, 1] input is taken for an already-averaged log-prob ("one token: its mean is itself") and its mask ignored; at T = 1 an empty response (mask 0) then contributes its log-ratio instead of a(y) = 0.
import torch


def _avg(lp, m):
    if lp.shape[-1] == 1:
        return lp[:, 0]
    m = m.to(lp.dtype)
    return (lp * m).sum(-1) / m.sum(-1).clamp(min=1)


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = _avg(policy_chosen_logps, chosen_mask) - _avg(ref_chosen_logps, chosen_mask)
    r = _avg(policy_rejected_logps, rejected_mask) - _avg(ref_rejected_logps, rejected_mask)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
