# check: values
# WRONG: an empty row returns logits[b].sum() * 0 to stay on the graph: -inf logits in that row (a masked vocabulary) make it -inf * 0 = NaN instead of 0.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    total = (lp * m).sum(-1)
    count = m.sum(-1)
    if average:
        total = total / count.clamp(min=1)
    # keep empty rows attached to the graph (DDP complains about unused outputs otherwise)
    return torch.where(count > 0, total, logits.sum((1, 2)) * 0)
