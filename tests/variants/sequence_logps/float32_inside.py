# A correct sequence_logps: float32 arithmetic inside, a where-mask, cast back to the logits' dtype.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    x = logits.float()[:, :-1]
    logps = torch.log_softmax(x, dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    counted = response_mask[:, 1:].bool()
    total = torch.where(counted, logps, torch.zeros_like(logps)).sum(-1)
    if average:
        total = total / counted.sum(-1).clamp(min=1)
    return total.to(logits.dtype)
