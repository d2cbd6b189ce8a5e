# RIGHT: NLL as the mean of the chosen log-probs picked by boolean indexing (lp[mask.bool()]), per-row means by index_add over the selected tokens, log σ as Bernoulli(logits=x).log_prob(1), log(1 - e^m) as log1p(-exp(m))
import torch
from torch.distributions import Bernoulli


def _row_means(lp, mask):
    sel = mask.bool()
    rows = torch.arange(lp.shape[0], device=lp.device)[:, None].expand_as(sel)[sel]
    sums = torch.zeros(lp.shape[0], dtype=lp.dtype, device=lp.device).index_add(0, rows, lp[sel])
    counts = sel.sum(-1).to(lp.dtype)
    return sums / counts


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    nll = -policy_chosen_logps[chosen_mask.bool()].mean()
    m_c = _row_means(policy_chosen_logps, chosen_mask)
    m_r = _row_means(policy_rejected_logps, rejected_mask)
    ratio = (m_c - torch.log1p(-torch.exp(m_c))) - (m_r - torch.log1p(-torch.exp(m_r)))
    or_loss = -Bernoulli(logits=ratio).log_prob(torch.ones_like(ratio)).mean()
    return nll + lam * or_loss, nll, or_loss
