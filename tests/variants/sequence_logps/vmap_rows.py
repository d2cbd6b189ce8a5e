# RIGHT: a per-row function mapped over the batch with torch.func.vmap; the left shift by padding the ids with a dummy id 0 at the end and masking the last position with torch.where (not a product: the dummy's log-prob may be -inf)
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
