# check: values
# named: negative log-probs (the NLL) instead of log-probs
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    m = response_mask[:, 1:].to(lp.dtype)
    nll = -(lp * m).sum(-1)  # a loss, as a training loop wants it
    return nll / m.sum(-1).clamp(min=1) if average else nll
