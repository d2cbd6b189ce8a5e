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
    # Position t predicts token t + 1, so the labels are the tokens shifted left by one: the last
    # position predicts past the end and token 0 has no prediction; neither can count.
    # The mask belongs to the label: token t + 1 counts when response_mask[:, t + 1] is 1.
    logits = logits[:, :-1]  # [B, T-1, V]
    labels = input_ids[:, 1:]  # [B, T-1]
    mask = response_mask[:, 1:].to(logits.dtype)  # [B, T-1]

    # log_softmax, not log(softmax): softmax underflows to 0 for logit gaps of a few hundred
    # and log(0) = -inf; log_softmax subtracts the max first.
    per_token = torch.gather(torch.log_softmax(logits, dim=-1), dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)  # [B, T-1]

    total = (per_token * mask).sum(-1)  # [B]
    if not average:
        return total
    # A row with no response token would be 0 / 0 = NaN; a count clamped to 1 makes it 0.
    return total / mask.sum(-1).clamp(min=1)  # [B]
