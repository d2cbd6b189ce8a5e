# check: values
# WRONG: the count of average=True is summed in the mask's own dtype: an int8 mask wraps past 127 counted tokens, uint8 past 255.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:]
    total = (lp * m.to(lp.dtype)).sum(-1)
    if not average:
        return total
    if m.dtype in (torch.int8, torch.uint8, torch.int16):
        count = m.sum(-1, dtype=m.dtype)  # stays in the mask's width
    else:
        count = m.sum(-1)
    return total / count.clamp(min=1).to(total.dtype)
