# check: gradients
# WRONG: HF's ForCausalLMLoss layout, cross_entropy over every position with the last one's label -100: an all -inf last position makes the gradient NaN.
import torch
import torch.nn.functional as F


def sequence_logps(logits, input_ids, response_mask, average=False):
    b, t, v = logits.shape
    labels = input_ids.masked_fill(~response_mask.bool(), -100)
    labels = F.pad(labels, (0, 1), value=-100)[:, 1:]  # [B, T]: position t's label is token t + 1
    nll = F.cross_entropy(logits.reshape(-1, v), labels.reshape(-1), ignore_index=-100, reduction="none")
    total = -nll.view(b, t).sum(-1)
    if not average:
        return total
    return total / (labels != -100).sum(-1).clamp(min=1).to(total.dtype)
