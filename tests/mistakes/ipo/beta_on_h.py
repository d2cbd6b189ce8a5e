# mistake: (β·h - 1/(2β))² instead of (h - 1/(2β))²
import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1) / mc.sum(-1).clamp(min=1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1) / mr.sum(-1).clamp(min=1)
    logits = beta * (chosen - rejected)  # DPO's logit, reused
    loss = torch.mean((logits - 1 / (2 * beta)) ** 2)
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
