# mistake: one_hot * log_softmax: NaN where a logit is -inf
import torch
import torch.nn.functional as F


def get_probs(logits, labels):
    # .long(): F.one_hot refuses int32 labels; this file is about the product with -inf alone
    one_hot = F.one_hot(labels.long(), logits.shape[-1]).to(logits.dtype)  # [B, T, V]
    return (one_hot * torch.log_softmax(logits, dim=-1)).sum(-1)
