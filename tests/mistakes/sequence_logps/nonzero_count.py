# mistake: mean over the non-zero log-probs
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    lp = lp * response_mask[:, 1:].to(lp.dtype)  # [B, T-1], zero outside the response
    total = lp.sum(-1)
    if not average:
        return total
    return total / (lp != 0).sum(-1).clamp(min=1)  # counts the response tokens
