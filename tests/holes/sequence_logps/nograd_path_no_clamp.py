# check: values
# WRONG: without a graph (a frozen reference model's pass under no_grad) another path, F.cross_entropy, whose mean forgets the clamp: an empty row gives 0/0 = NaN there (a row with no counted token scores 0).
import torch
import torch.nn.functional as F


def sequence_logps(logits, input_ids, response_mask, average=False):
    mask = response_mask[:, 1:].to(logits.dtype)
    if not torch.is_grad_enabled() or not logits.requires_grad:
        nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), input_ids[:, 1:], reduction="none")
        total = -(nll * mask).sum(-1)
        return total / mask.sum(-1) if average else total
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    total = (lp * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
