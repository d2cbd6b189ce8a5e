# mistake: no shift
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    # Reads like get_probs: each position's logits scored against the same position's token.
    logps = torch.log_softmax(logits, dim=-1).gather(-1, input_ids.unsqueeze(-1)).squeeze(-1)
    mask = response_mask.to(logps.dtype)
    total = (logps * mask).sum(-1)
    if average:
        return total / mask.sum(-1).clamp(min=1)
    return total
