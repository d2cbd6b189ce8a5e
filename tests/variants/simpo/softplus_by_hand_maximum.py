# A correct simpo loss: -log σ(x) written out as max(-x, 0) + log1p(exp(-|x|)) with torch.maximum, whose
# gradient at x = 0 is split in two and makes up for |x|'s slope of 0 there.
import torch


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    chosen = (policy_chosen_logps * chosen_mask).sum(-1) / chosen_mask.sum(-1)
    rejected = (policy_rejected_logps * rejected_mask).sum(-1) / rejected_mask.sum(-1)
    x = beta * (chosen - rejected) - gamma
    # -log σ(x) in its stable form, written out: max(-x, 0) + log(1 + e^-|x|).
    loss = (torch.maximum(-x, torch.zeros_like(x)) + torch.log1p(torch.exp(-x.abs()))).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
