# RIGHT: the response tokens' log-ratios scattered into per-row sums with index_add over the masks' nonzero positions, counts by torch.bincount(minlength=B), the square via F.mse_loss(reduction="sum") / B
import torch
import torch.nn.functional as F


def _row_mean(x, mask):
    b = x.shape[0]
    rows, cols = mask.bool().nonzero(as_tuple=True)
    sums = x.new_zeros(b).index_add(0, rows, x[rows, cols])
    counts = torch.bincount(rows, minlength=b).clamp(min=1).to(x.dtype)
    return sums / counts


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    a_c = _row_mean(policy_chosen_logps - ref_chosen_logps, chosen_mask)
    a_r = _row_mean(policy_rejected_logps - ref_rejected_logps, rejected_mask)
    h = a_c - a_r
    loss = F.mse_loss(h, torch.full_like(h, 0.5 / beta), reduction="sum") / h.shape[0]
    return loss, (beta * a_c).detach(), (beta * a_r).detach()
