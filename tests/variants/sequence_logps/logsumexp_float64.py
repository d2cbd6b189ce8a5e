# RIGHT: label logit minus logsumexp, computed in float64 whatever the input dtype and cast back, reductions by einsum.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    x = logits[:, :-1].double()
    lab = input_ids[:, 1:]
    lp = x.gather(-1, lab.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(x, dim=-1)
    m = response_mask[:, 1:].double()
    total = torch.einsum("bt,bt->b", lp, m)
    if average:
        total = total / m.sum(-1).clamp(min=1)
    return total.to(logits.dtype)
