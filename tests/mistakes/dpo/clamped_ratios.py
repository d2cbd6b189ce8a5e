# mistake: per-token log-ratios clamped
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    # Guard against exploding ratios, token by token.
    chosen = ((policy_chosen_logps - ref_chosen_logps).clamp(-50, 50) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps).clamp(-50, 50) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
