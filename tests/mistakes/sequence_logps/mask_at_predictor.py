# mistake: mask taken at the predicting position
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    logits = logits[:, :-1]
    labels = input_ids[:, 1:]
    mask = response_mask[:, :-1].to(logits.dtype)  # sliced like the logits, not like the labels
    logps = torch.gather(logits.log_softmax(-1), 2, labels[..., None])[..., 0]
    total = (logps * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
