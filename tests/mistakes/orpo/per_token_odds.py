# mistake: odds per token instead of from the mean log-prob
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    log_odds = lambda lp: lp - torch.log(-torch.expm1(lp))  # per token
    odds_c = (log_odds(policy_chosen_logps) * mc).sum(-1) / mc.sum(-1)
    odds_r = (log_odds(policy_rejected_logps) * mr).sum(-1) / mr.sum(-1)
    or_loss = -F.logsigmoid(odds_c - odds_r).mean()
    return nll + lam * or_loss, nll, or_loss
