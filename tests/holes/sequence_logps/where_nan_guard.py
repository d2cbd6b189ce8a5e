# check: gradients
# WRONG: the empty-row guard torch.where(count > 0, total / count, 0): the value is right, but the unselected 0/0 branch sends NaN into the gradient of every logit of an empty row (clamp the count instead).
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    m = response_mask[:, 1:].to(logits.dtype)
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    total = (lp * m).sum(-1)
    if not average:
        return total
    count = m.sum(-1)
    return torch.where(count > 0, total / count, torch.zeros_like(total))
