# check: values
# WRONG: a [B, 1] input is taken for sequence-level log-probs ("already summed: no mask needed") and its mask ignored; at T = 1 an empty response (mask 0, a pair truncated away) then contributes its log-ratio instead of 0.
import torch
import torch.nn.functional as F


def _seq(lp, m):
    if lp.shape[-1] == 1:  # already one number per row
        return lp[:, 0]
    return (lp * m.to(lp.dtype)).sum(-1)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = _seq(policy_chosen_logps, chosen_mask) - _seq(ref_chosen_logps, chosen_mask)
    r = _seq(policy_rejected_logps, rejected_mask) - _seq(ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
