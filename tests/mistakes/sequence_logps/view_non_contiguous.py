# mistake: .view() on non-contiguous inputs
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    b, t, v = logits.shape
    flat = torch.log_softmax(logits.view(b * t, v), -1)  # [B*T, V]
    lp = flat.view(b, t, v)[:, :-1].gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
