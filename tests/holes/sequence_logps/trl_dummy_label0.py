# check: values
# WRONG: TRL's dummy label: uncounted labels replaced by id 0 before the gather, then lp * mask: where id 0's logit is -inf at an uncounted position, -inf * 0 = NaN.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    labels = input_ids[:, 1:].clone()
    mask = response_mask[:, 1:].bool()
    labels[~mask] = 0  # dummy token; we'll ignore the losses on these tokens later
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, labels[..., None]).squeeze(-1)
    m = mask.to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
