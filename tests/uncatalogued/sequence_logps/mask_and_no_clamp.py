# check: values
# named: mask taken at the predicting position; and no clamp (NaN on an empty response)
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, :-1].to(lp.dtype)  # the position that predicts
    total = (lp * m).sum(-1)
    return total / m.sum(-1) if average else total
