# check: values
# WRONG: a memory-saving loop over chunks of 256 positions that shifts inside each chunk (logits[s:e-1] against ids[s+1:e]): the token at each chunk boundary (t = 256, 512, ...) is never scored; exact while T <= 256.
import torch

CHUNK = 256


def sequence_logps(logits, input_ids, response_mask, average=False):
    B, T, V = logits.shape
    mask = response_mask.to(logits.dtype)
    total = logits.new_zeros(B)
    count = logits.new_zeros(B)
    for s in range(0, T, CHUNK):
        e = min(s + CHUNK, T)
        lg = logits[:, s:e - 1]
        ids = input_ids[:, s + 1:e]
        m = mask[:, s + 1:e]
        lp = torch.log_softmax(lg, dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        total = total + (lp * m).sum(-1)
        count = count + m.sum(-1)
    if not average:
        return total
    return total / count.clamp(min=1)
