# A correct sequence_logps with cross_entropy and ignore_index, the way HF models compute their loss;
# cross_entropy wants int64 targets (as the statement gives the ids; .long() costs nothing).
import torch
import torch.nn.functional as F


def sequence_logps(logits, input_ids, response_mask, average=False):
    b, t, v = logits.shape
    labels = input_ids[:, 1:].long().masked_fill(~response_mask[:, 1:].bool(), -100)
    nll = F.cross_entropy(logits[:, :-1].reshape(-1, v), labels.reshape(-1), ignore_index=-100, reduction="none")
    total = -nll.reshape(b, t - 1).sum(-1)
    if not average:
        return total
    count = (labels != -100).sum(-1)
    return total / count.clamp(min=1).to(total.dtype)
