# RIGHT: scores only the counted tokens, picked with nonzero() and advanced indexing, summed per row with index_add and counted with bincount.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    b = logits.shape[0]
    rows, cols = response_mask[:, 1:].bool().nonzero(as_tuple=True)  # counted tokens t = cols + 1
    picked = logits[rows, cols]  # [N, V], the predicting positions
    lp = torch.log_softmax(picked, -1).gather(-1, input_ids[rows, cols + 1].unsqueeze(-1)).squeeze(-1)
    total = torch.zeros(b, dtype=logits.dtype, device=logits.device).index_add(0, rows, lp)
    if not average:
        return total
    count = torch.bincount(rows, minlength=b).clamp(min=1).to(logits.dtype)
    return total / count
