# check: values
# WRONG: with λ = 0 the odds-ratio term is skipped and or_loss returned as 0 (statement: or_loss is eq. 7 whatever λ).
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    if lam == 0:
        return nll, nll, torch.zeros_like(nll)
    m_c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    m_r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    lo = (m_c - torch.log(-torch.expm1(m_c))) - (m_r - torch.log(-torch.expm1(m_r)))
    or_loss = -F.logsigmoid(lo).mean()
    return nll + lam * or_loss, nll, or_loss
