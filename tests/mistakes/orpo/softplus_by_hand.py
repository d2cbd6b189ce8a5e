# mistake: max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie
import torch


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    nll_loss = -(policy_chosen_logps * chosen_mask).sum() / chosen_mask.sum()
    chosen = (policy_chosen_logps * chosen_mask).sum(-1) / chosen_mask.sum(-1)
    rejected = (policy_rejected_logps * rejected_mask).sum(-1) / rejected_mask.sum(-1)
    x = (chosen - torch.log(-torch.expm1(chosen))) - (rejected - torch.log(-torch.expm1(rejected)))
    # -log σ(x) in its stable form, written out: max(-x, 0) + log(1 + e^-|x|).
    or_loss = (torch.clamp(-x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))).mean()
    return nll_loss + lam * or_loss, nll_loss, or_loss
