# check: values
# named: the mean over the padded length instead of the mean over the response tokens
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc, mr = chosen_mask.to(policy_chosen_logps.dtype), rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    m_c = (policy_chosen_logps * mc).mean(-1)
    m_r = (policy_rejected_logps * mr).mean(-1)
    log_odds = lambda m: m - torch.log(-torch.expm1(m))
    or_loss = -F.logsigmoid(log_odds(m_c) - log_odds(m_r)).mean()
    return nll + lam * or_loss, nll, or_loss
