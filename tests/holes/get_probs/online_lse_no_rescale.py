# check: values
# WRONG: memory-saving "online" log-sum-exp over vocabulary chunks of 1024 whose running sum is not rescaled when the running max grows (s += Σexp(x - m_new) without s *= exp(m_old - m_new)): exact while V <= 1024, wrong for real vocabularies, though out = log_softmax(logits)[label] for any V.
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


def get_probs(logits, labels):
    picked = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return picked - _lse(logits)
