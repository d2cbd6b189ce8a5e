# A correct DPO: -log σ(x) as (|x| - x)/2 + log1p(exp(-|x|)): |x|'s subgradient 0 at a tie leaves the slope -1/2.
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = (policy_chosen_logps * chosen_mask).sum(-1) - (ref_chosen_logps * chosen_mask).sum(-1)
    r = (policy_rejected_logps * rejected_mask).sum(-1) - (ref_rejected_logps * rejected_mask).sum(-1)
    x = beta * (c - r)
    a = x.abs()
    loss = ((a - x) / 2 + torch.log1p(torch.exp(-a))).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
