# mistake: logits and labels shifted the same way
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    # "Drop the first position, it has no prediction" -- applied to the logits as well.
    logits = logits[:, 1:, :]
    labels = input_ids[:, 1:]
    mask = response_mask[:, 1:].float()
    logps = torch.log_softmax(logits, dim=-1).gather(2, labels.unsqueeze(2)).squeeze(2)
    total = (logps * mask).sum(1)
    if average:
        total = total / mask.sum(1).clamp(min=1)
    return total.to(logits.dtype)
