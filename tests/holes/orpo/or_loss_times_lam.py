# check: values
# WRONG: or_loss returned already multiplied by λ (TRL's odds_ratio_loss returns beta * ratio): loss is right, the or_loss output is λ·eq. 7.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    log_odds = (c - r) - (torch.log1p(-torch.exp(c)) - torch.log1p(-torch.exp(r)))
    or_loss = -lam * F.logsigmoid(log_odds).mean()
    return nll + or_loss, nll, or_loss
