# check: values
# WRONG: gather(...).squeeze() without a dim: at T = 2 with B > 1 the [B, 1] per-token log-probs collapse to [B],
# broadcast against the [B, 1] mask into [B, B], and every row gets the whole batch's sum.
import torch

def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze()
    m = response_mask[:, 1:].to(logits.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
