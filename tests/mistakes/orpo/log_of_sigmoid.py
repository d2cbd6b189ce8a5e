# mistake: log(sigmoid(x)) instead of logsigmoid
import torch


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll_loss = -(policy_chosen_logps * mc).sum() / mc.sum()
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    log_odds = (chosen - rejected) - (torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected)))
    or_loss = -torch.log(torch.sigmoid(log_odds)).mean()
    return nll_loss + lam * or_loss, nll_loss, or_loss
