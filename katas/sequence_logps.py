import torch
from torch import Tensor


def sequence_logps(logits: Tensor, input_ids: Tensor, response_mask: Tensor, average: bool = False) -> Tensor:
    """Log-probability of each sequence's response under a causal LM: shift, mask, sum.

    Args:
        logits: [B, T, V] float; logits[:, t] is the model's prediction of input_ids[:, t + 1].
        input_ids: [B, T] int64, the tokens (prompt, response and padding).
        response_mask: [B, T] float, int or bool; 1 at the position of each response token.
        average: return the mean over the counted tokens instead of their sum.

    Returns:
        [B], logits' dtype: the sum over t >= 1 with response_mask[:, t] = 1 of
        log p(input_ids[:, t] | logits[:, t - 1]); with `average`, that sum divided by the
        number of such tokens, clamped to at least 1.
    """
    # TODO: implement
    raise NotImplementedError
