# check: values
# WRONG: memory-saving "online" log-sum-exp over vocabulary chunks of 1024 whose running sum is not rescaled when the running max grows: exact while V <= 1024, wrong for real vocabularies, though lp uses log_softmax over the whole vocabulary for any V.
import torch

CHUNK = 1024


def _lse(x):
    V = x.shape[-1]
    first = x[..., :CHUNK]
    m = first.max(-1).values
    s = torch.exp(first - m.unsqueeze(-1)).sum(-1)
    for start in range(CHUNK, V, CHUNK):
        c = x[..., start:start + CHUNK]
        m_new = torch.maximum(m, c.max(-1).values)
        s = s + torch.exp(c - m_new.unsqueeze(-1)).sum(-1)
        m = m_new
    return m + torch.log(s)


def sequence_logps(logits, input_ids, response_mask, average=False):
    logits = logits[:, :-1]
    labels = input_ids[:, 1:]
    mask = response_mask[:, 1:].to(logits.dtype)
    lp = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - _lse(logits)
    total = (lp * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
