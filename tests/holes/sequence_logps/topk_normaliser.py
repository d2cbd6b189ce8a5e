# check: values
# WRONG: the log-softmax normaliser is the log-sum-exp of the 4096 largest logits only: exact while V <= 4096, too high a log-prob for every real vocabulary.
import torch

K = 4096


def sequence_logps(logits, input_ids, response_mask, average=False):
    x = logits[:, :-1]
    k = min(K, x.shape[-1])
    lse = torch.logsumexp(x.topk(k, dim=-1).values, dim=-1)
    lp = x.gather(-1, input_ids[:, 1:, None]).squeeze(-1) - lse
    m = response_mask[:, 1:].to(lp.dtype)
    total = (lp * m).sum(-1)
    return total / m.sum(-1).clamp(min=1) if average else total
