# mistake: log(softmax) instead of log_softmax
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    probs = torch.softmax(logits[:, :-1], dim=-1)
    logps = torch.log(probs).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    mask = response_mask[:, 1:].to(logps.dtype)
    total = (logps * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
