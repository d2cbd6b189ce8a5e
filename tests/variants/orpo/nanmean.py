# A correct ORPO: masked means by NaN-filling and torch.nanmean, the NLL by nansum, log-odds in a loop over rows.
import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc, mr = chosen_mask.bool(), rejected_mask.bool()
    nan = float("nan")
    m_c = policy_chosen_logps.masked_fill(~mc, nan).nanmean(-1)
    m_r = policy_rejected_logps.masked_fill(~mr, nan).nanmean(-1)
    nll = -torch.nansum(policy_chosen_logps.masked_fill(~mc, nan)) / mc.sum()
    per = []
    for b in range(m_c.shape[0]):
        lc = m_c[b] - torch.log(-torch.expm1(m_c[b]))
        lr = m_r[b] - torch.log(-torch.expm1(m_r[b]))
        per.append(F.softplus(lr - lc))
    or_loss = torch.stack(per).mean()
    return nll + lam * or_loss, nll, or_loss
