# check: stability
# WRONG: the log-sum-exp is stabilised with the max over the whole tensor instead of each position's: a position far below the global max underflows to -inf or wrong values.
import torch


def get_probs(logits, labels):
    m = logits.max()
    lse = m + torch.log(torch.exp(logits - m).sum(-1))
    return logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - lse
