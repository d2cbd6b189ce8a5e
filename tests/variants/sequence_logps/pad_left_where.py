# A correct sequence_logps aligned by padding the logits on the left (position t holds token t's prediction),
# tokens selected with torch.where rather than multiplied by the mask, summed with einsum.
import torch
import torch.nn.functional as F


def sequence_logps(logits, input_ids, response_mask, average=False):
    B, T, V = logits.shape
    # prepend one dummy position so that position t holds the prediction of token t
    shifted = F.pad(logits, (0, 0, 1, 0))[:, :T]  # [B, T, V]; row 0 is a dummy
    lp = torch.log_softmax(shifted, dim=-1).gather(-1, input_ids.unsqueeze(-1)).squeeze(-1)  # [B, T]
    keep = response_mask.bool().clone()
    keep[:, 0] = False
    sel = torch.where(keep, lp, torch.zeros((), dtype=lp.dtype))
    total = torch.einsum("bt->b", sel)
    if not average:
        return total
    return total / keep.sum(-1).clamp(min=1).to(total.dtype)
