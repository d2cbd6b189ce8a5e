# RIGHT: the negated F.nll_loss on log-probs laid out [B, V, T] (the "K-dimensional" nll_loss), reduction='none'.
import torch
import torch.nn.functional as F


def get_probs(logits, labels):
    logp = torch.log_softmax(logits, dim=-1).transpose(1, 2)  # [B, V, T]
    return -F.nll_loss(logp, labels, reduction="none")  # [B, T]
