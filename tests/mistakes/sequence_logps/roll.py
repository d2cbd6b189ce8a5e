# mistake: torch.roll wraps the first token around
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    # Shift the labels and the mask left by one so that position t holds token t + 1.
    labels = torch.roll(input_ids, shifts=-1, dims=1)
    mask = torch.roll(response_mask, shifts=-1, dims=1).to(logits.dtype)
    logps = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    total = (logps * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
