# RIGHT: when λ = 0 the odds-ratio term is computed under torch.no_grad (only logged), so loss carries the NLL's graph alone (its gradient is exactly 0 anyway); masked sums as einsum; log(1 - e^m) by log1p(-exp(m)) below -ln 2 and log(-expm1(m)) above
import math
import torch
import torch.nn.functional as F


def _log1mexp(m):
    return torch.where(m < -math.log(2), torch.log1p(-torch.exp(m)), torch.log(-torch.expm1(m)))


def _or(pc, pr, mc, mr):
    m_c = torch.einsum("bt,bt->b", pc, mc) / mc.sum(-1)
    m_r = torch.einsum("bt,bt->b", pr, mr) / mr.sum(-1)
    return -F.logsigmoid((m_c - _log1mexp(m_c)) - (m_r - _log1mexp(m_r))).mean()


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -torch.einsum("bt,bt->", policy_chosen_logps, mc) / mc.sum()
    if lam == 0:
        with torch.no_grad():
            or_loss = _or(policy_chosen_logps, policy_rejected_logps, mc, mr)
        return nll + 0.0 * or_loss, nll, or_loss
    or_loss = _or(policy_chosen_logps, policy_rejected_logps, mc, mr)
    return nll + lam * or_loss, nll, or_loss
