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
    # log_softmax, not log(softmax): softmax underflows to 0 for logit gaps of a few
    # hundred and the log of that is -inf; log_softmax subtracts the max first.
    logps = torch.log_softmax(logits, dim=-1)  # [B, T, V]
    return torch.gather(logps, dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)  # [B, T]
