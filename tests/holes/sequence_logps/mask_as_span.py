# check: values
# WRONG: the response read from the mask as one span, from its first counted token to its last, and every token in between scored: right for prompt-response-padding masks, wrong for a multi-turn (assistant-only) mask whose user turns are zeros inside the response.
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    T = logits.shape[1]
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # [B, T-1]
    counted = response_mask[:, 1:].bool()
    pos = torch.arange(T - 1, device=logits.device)
    first = torch.where(counted, pos, T).amin(-1, keepdim=True)  # [B, 1]
    last = torch.where(counted, pos, -1).amax(-1, keepdim=True)
    span = ((pos >= first) & (pos <= last)).to(lp.dtype)  # [B, T-1]
    total = (lp * span).sum(-1)
    if not average:
        return total
    return total / span.sum(-1).clamp(min=1)
