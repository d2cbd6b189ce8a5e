# check: gradients
# WRONG: log_softmax over every position before the shift: a last position whose logits are all -inf (allowed: it predicts nothing) makes the gradient NaN.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    logps = torch.log_softmax(logits, dim=-1)[:, :-1]  # [B, T-1, V]
    lp = logps.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    total = (lp * m).sum(-1)
    if not average:
        return total
    return total / m.sum(-1).clamp(min=1)
