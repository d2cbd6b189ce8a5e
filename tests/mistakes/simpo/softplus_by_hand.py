# mistake: max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie
import torch


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    chosen = (policy_chosen_logps * chosen_mask).sum(-1) / chosen_mask.sum(-1)
    rejected = (policy_rejected_logps * rejected_mask).sum(-1) / rejected_mask.sum(-1)
    x = beta * (chosen - rejected) - gamma
    # -log σ(x) in its stable form, written out with relu: max(-x, 0) + log(1 + e^-|x|).
    loss = (torch.relu(-x) + torch.log1p(torch.exp(-x.abs()))).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
