# check: values
# WRONG: a loop over chunks of 256 positions whose average=True returns the mean of the chunks' means instead of the sum over the total count: exact while a row's counted tokens fit one chunk.
import torch

CHUNK = 256


def sequence_logps(logits, input_ids, response_mask, average=False):
    logits, labels = logits[:, :-1], input_ids[:, 1:]
    mask = response_mask[:, 1:].to(logits.dtype)
    sums, means, used = [], [], []
    for s in range(0, labels.shape[1], CHUNK):
        lp = torch.log_softmax(logits[:, s:s + CHUNK], -1).gather(-1, labels[:, s:s + CHUNK, None]).squeeze(-1)
        m = mask[:, s:s + CHUNK]
        total = (lp * m).sum(-1)
        count = m.sum(-1)
        sums.append(total)
        means.append(total / count.clamp(min=1))
        used.append((count > 0).to(logits.dtype))
    if not sums:
        return logits.new_zeros(logits.shape[0]) + logits.sum((1, 2)) * 0
    if not average:
        return torch.stack(sums, -1).sum(-1)
    used = torch.stack(used, -1)
    return (torch.stack(means, -1) * used).sum(-1) / used.sum(-1).clamp(min=1)
