# check: gradients
# WRONG: per-token log-probs clamped to at most -1e-6 before the odds: a token of log-prob exactly 0 gets no odds-ratio gradient.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    pc = policy_chosen_logps.clamp(max=-1e-6)
    pr = policy_rejected_logps.clamp(max=-1e-6)
    mc = chosen_mask.to(pc.dtype)
    mr = rejected_mask.to(pr.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    m_c = (pc * mc).sum(-1) / mc.sum(-1)
    m_r = (pr * mr).sum(-1) / mr.sum(-1)
    lo = (m_c - torch.log(-torch.expm1(m_c))) - (m_r - torch.log(-torch.expm1(m_r)))
    or_loss = -F.logsigmoid(lo).mean()
    return nll + lam * or_loss, nll, or_loss
