# A correct ORPO: Mächler's two-branch log1mexp by torch.where, float32 inside, or_loss by F.binary_cross_entropy_with_logits, cast back.
import math
import torch
import torch.nn.functional as F


def _log1mexp(m):
    return torch.where(m > -math.log(2), torch.log(-torch.expm1(m)), torch.log1p(-torch.exp(m)))


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    dt = policy_chosen_logps.dtype
    pc, pr = policy_chosen_logps.float(), policy_rejected_logps.float()
    mc, mr = chosen_mask.float(), rejected_mask.float()
    nll = -(pc * mc).sum() / mc.sum()
    m_c = (pc * mc).sum(-1) / mc.sum(-1)
    m_r = (pr * mr).sum(-1) / mr.sum(-1)
    x = (m_c - _log1mexp(m_c)) - (m_r - _log1mexp(m_r))
    or_loss = F.binary_cross_entropy_with_logits(x, torch.ones_like(x))
    loss = nll + lam * or_loss
    return loss.to(dt), nll.to(dt), or_loss.to(dt)
