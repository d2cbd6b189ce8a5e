# check: values
# WRONG: average=True divides by response_mask.sum(-1), which counts token 0 when its mask is 1, although token 0 is never scored: the count must come from the shifted mask, response_mask[:, 1:].
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    m = response_mask.to(logits.dtype)
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    total = (lp * m[:, 1:]).sum(-1)
    if not average:
        return total
    return total / m.sum(-1).clamp(min=1)
