# mistake: max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask).sum(-1)
    x = beta * (chosen - rejected)
    # -log σ(x) in its stable form, written out: max(-x, 0) + log(1 + e^-|x|).
    loss = (torch.clamp(-x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
