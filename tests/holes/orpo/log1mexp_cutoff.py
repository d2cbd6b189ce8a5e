# check: values
# WRONG: log(1 - e^m) taken as 0 below m = -6: the log odds are off by up to e^-6 nats for mean log-probs in (-12, -5), which a rejected answer reaches in training.
import torch
import torch.nn.functional as F


def _mean(lp, mask):
    m = mask.to(lp.dtype)
    return (lp * m).sum(-1) / m.sum(-1)


def _log_odds(m):
    log1mexp = torch.where(m < -6.0, torch.zeros_like(m), torch.log(-torch.expm1(m.clamp(max=-1e-30))))
    return m - log1mexp


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    ratio = _log_odds(_mean(policy_chosen_logps, chosen_mask)) - _log_odds(_mean(policy_rejected_logps, rejected_mask))
    or_loss = -F.logsigmoid(ratio).mean()
    return nll + lam * or_loss, nll, or_loss
