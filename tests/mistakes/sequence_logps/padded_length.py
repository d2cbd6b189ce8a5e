# mistake: mean over the padded length
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    logps = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    masked = logps * response_mask[:, 1:].to(logps.dtype)
    return masked.mean(-1) if average else masked.sum(-1)
