# RIGHT: a per-row function mapped over the batch with torch.func.vmap; the left shift by slicing each row (logits[:-1] against ids[1:], mask[1:]) and the masked sum by torch.where
import torch
from torch.func import vmap


def _row(logits, ids, mask, average):
    lp = torch.log_softmax(logits[:-1], dim=-1).gather(-1, ids[1:, None])[:, 0]  # [T-1]
    keep = mask[1:].bool()
    total = torch.where(keep, lp, torch.zeros_like(lp)).sum()
    return total / keep.to(lp.dtype).sum().clamp(min=1) if average else total


def sequence_logps(logits, input_ids, response_mask, average=False):
    return vmap(lambda l, i, m: _row(l, i, m, average))(logits, input_ids, response_mask)
