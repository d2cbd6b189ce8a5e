# A correct dpo loss: -log σ(x) written out as max(-x, 0) + log1p(exp(-|x|)) with torch.maximum, whose
# gradient at x = 0 is split in two and makes up for |x|'s slope of 0 there.
import torch


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    chosen = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask).sum(-1)
    x = beta * (chosen - rejected)
    # -log σ(x) in its stable form, written out: max(-x, 0) + log(1 + e^-|x|).
    loss = (torch.maximum(-x, torch.zeros_like(x)) + torch.log1p(torch.exp(-torch.abs(x)))).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
