# check: inputs_unchanged
# WRONG: input_ids.clamp_(0, V - 1) writes the caller's ids in place (values unchanged, version counter moved): an embedding that saved them raises at backward.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    input_ids.clamp_(0, logits.shape[-1] - 1)
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
