# check: values
# WRONG: labels from torch.roll(input_ids, -1) and the wrapped last column zeroed in the mask, then lp * mask: the last position's 'label' is input_ids[:, 0], and where its logit there is -inf (a banned BOS; the last position predicts nothing) -inf * 0 = NaN.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    labels = torch.roll(input_ids, shifts=-1, dims=1)
    mask = torch.roll(response_mask, shifts=-1, dims=1).to(logits.dtype)
    mask = torch.cat([mask[:, :-1], torch.zeros_like(mask[:, -1:])], dim=1)  # nothing follows the last token
    logps = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    total = (logps * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total
