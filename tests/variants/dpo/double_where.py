# A correct DPO: a guarded log1p(exp(-x)) with the 'double where' (the unused branch's argument clamped too), masked_fill masks, the batch mean as sum / B.
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    total = []
    for lp, ref, m in ((policy_chosen_logps, ref_chosen_logps, chosen_mask),
                       (policy_rejected_logps, ref_rejected_logps, rejected_mask)):
        total.append((lp - ref).masked_fill(m == 0, 0).sum(-1))
    c, r = total
    x = beta * (c - r)
    safe = torch.where(x < -30, torch.zeros_like(x), x)
    loss = torch.where(x < -30, -x, torch.log1p(torch.exp(-safe))).sum() / x.shape[0]
    return loss, (beta * c).detach(), (beta * r).detach()
