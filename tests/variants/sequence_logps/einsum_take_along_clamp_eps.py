# A correct sequence_logps: the masked sum as an einsum with the shifted mask, torch.take_along_dim on the
# int64 ids, and the empty-row guard as count.clamp(min=1e-8) (counts are integers: only 0 differs, where the sum is 0).
import torch


def sequence_logps(logits, input_ids, response_mask, average=False):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    lp = torch.take_along_dim(logp, input_ids[:, 1:, None], dim=-1)[..., 0]
    m = response_mask[:, 1:].to(lp.dtype)
    total = torch.einsum("bt,bt->b", lp, m)
    if not average:
        return total
    return total / m.sum(-1).clamp(min=1e-8)
