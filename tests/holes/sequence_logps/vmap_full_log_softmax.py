# check: gradients
# WRONG: log_softmax over every position, the last included, before the shift: a last position whose logits are all -inf (allowed: it predicts nothing) is NaN there, and NaN in every row's gradient.
import torch
from torch.func import vmap


def _row(logits, ids, mask, average):
    nxt = torch.cat([ids[1:], ids.new_zeros(1)])
    keep = torch.cat([mask[1:], mask.new_zeros(1)]).bool()
    lp = torch.log_softmax(logits, dim=-1).gather(-1, nxt[:, None])[:, 0]
    total = torch.where(keep, lp, torch.zeros_like(lp)).sum()  # where, not *: the dummy's log-prob may be -inf
    return total / keep.to(lp.dtype).sum().clamp(min=1) if average else total


def sequence_logps(logits, input_ids, response_mask, average=False):
    return vmap(lambda l, i, m: _row(l, i, m, average))(logits, input_ids, response_mask)
