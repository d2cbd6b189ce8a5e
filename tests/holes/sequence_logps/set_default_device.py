# check: inputs_unchanged
# WRONG: torch.set_default_device(logits.device) left set: the caller's later torch.zeros/randn land on the last input's device.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    torch.set_default_device(logits.device)
    b = logits.shape[0]
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    total = torch.zeros(b, dtype=lp.dtype) + (lp * m).sum(-1)
    if not average:
        return total
    return total / m.sum(-1).clamp(min=1)
