# check: output_types
# WRONG: a loop over positions accumulated from the Python int 0: at T = 1 (nothing counted) with average=False it returns the int 0, not a [B] tensor in the logits' dtype (the statement's T = 1 and "a row with no counted token scores 0").
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    T = logits.shape[1]
    lp = torch.log_softmax(logits, dim=-1)
    m = response_mask.to(logits.dtype)
    total = 0
    for t in range(1, T):
        total = total + lp[:, t - 1].gather(-1, input_ids[:, t:t + 1]).squeeze(-1) * m[:, t]
    if average:
        return total / m[:, 1:].sum(-1).clamp(min=1)
    return total
