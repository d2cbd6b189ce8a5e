# check: values
# WRONG: input_ids flattened with .view(-1): raises on non-contiguous ids (a caller's slice input_ids[:, :T], a column-major batch).
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    B, T, V = logits.shape
    flat_ids = input_ids.view(-1)
    flat_mask = response_mask.reshape(-1).to(logits.dtype)
    lp_all = torch.log_softmax(logits.reshape(B * T, V), dim=-1)
    # position i predicts token i + 1 of the same row
    pos = torch.arange(B * T, device=logits.device).reshape(B, T)[:, :-1].reshape(-1)
    lp = lp_all[pos, flat_ids[pos + 1]].reshape(B, T - 1)
    m = flat_mask[pos + 1].reshape(B, T - 1)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
