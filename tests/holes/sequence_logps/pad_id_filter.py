# check: values
# WRONG: tokens whose id is GPT-2's pad id 50256 (= its end-of-text) are dropped from the sum and the count where the mask is 1: every response's end-of-text token goes uncounted.
import torch

PAD_ID = 50256


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    mask = response_mask[:, 1:].bool() & (input_ids[:, 1:] != PAD_ID)
    m = mask.to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
