import torch
from torch import Tensor


def get_probs(logits: Tensor, labels: Tensor) -> Tensor:
    """Log-probability of each label under its own position's logits.

    Args:
        logits: [B, T, V] float, unnormalised scores over the vocabulary.
        labels: [B, T] int64, the target token of each position (no shift).

    Returns:
        [B, T], same dtype as `logits`: out[b, t] = log_softmax(logits[b, t])[labels[b, t]].
    """
    # TODO: implement
    raise NotImplementedError
