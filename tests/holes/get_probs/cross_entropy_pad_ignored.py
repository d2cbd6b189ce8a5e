# check: values
# WRONG: -F.cross_entropy(..., ignore_index=0): label id 0, taken for a pad id, scores 0 instead of its log-probability; get_probs has no mask, every position's label is scored.
import torch
import torch.nn.functional as F


def get_probs(logits, labels):
    B, T, V = logits.shape
    nll = F.cross_entropy(logits.reshape(B * T, V), labels.reshape(B * T), reduction="none", ignore_index=0)
    return -nll.view(B, T)
