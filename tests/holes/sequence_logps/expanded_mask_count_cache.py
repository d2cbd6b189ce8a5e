# check: values
# WRONG: an expanded mask's clamped token count memoised by (data_ptr, shape, dtype): the next batch's expanded mask at the same address gets the previous batch's count. It passed where the decoy (the mask flipped) kept the count: 2 tokens of 4.
import torch

_COUNTS = {}


def _count(m):
    if 0 in m.stride():
        key = (m.data_ptr(), tuple(m.shape), m.dtype)
        if key not in _COUNTS:
            _COUNTS[key] = m.to(torch.float64).sum(-1).clamp(min=1)
        return _COUNTS[key]
    return m.to(torch.float64).sum(-1).clamp(min=1)


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:]
    total = (lp * m.to(lp.dtype)).sum(-1)
    if not average:
        return total
    return total / _count(m).to(lp.dtype)
