# check: gradients
# WRONG: in float32, pairs with |β·h| > 80 are detached as saturated: a confidently wrong pair (β·h ≪ 0) gets gradient 0 instead of -β/B.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    x = beta * (chosen - rejected)
    if x.dtype == torch.float32:  # exp(-x) overflows float32 past 88: saturated pairs are constants
        x = torch.where(x.abs() > 80, x.detach(), x)
    loss = F.softplus(-x).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
