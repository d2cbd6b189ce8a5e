# RIGHT: both sides packed into one flat token stream (boolean indexing), per-row sums via index_add_ with row ids, counts via bincount.
import torch
import torch.nn.functional as F


def _row_means(lp, mask):
    b, t = lp.shape
    keep = mask.bool() if mask.dtype == torch.bool else mask != 0
    rows = torch.arange(b, device=lp.device)[:, None].expand(b, t)[keep]
    vals = lp[keep]
    sums = torch.zeros(b, dtype=lp.dtype, device=lp.device).index_add(0, rows, vals)
    counts = torch.bincount(rows, minlength=b).to(lp.dtype)
    return sums / counts


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    c = _row_means(policy_chosen_logps, chosen_mask)
    r = _row_means(policy_rejected_logps, rejected_mask)
    z = torch.addcmul(torch.full_like(c, -gamma), c - r, torch.full_like(c, beta))
    loss = -F.logsigmoid(z).sum() / z.numel()
    return loss, (beta * c).detach(), (beta * r).detach()
