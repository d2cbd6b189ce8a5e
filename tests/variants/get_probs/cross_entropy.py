# A correct get_probs written with cross_entropy instead of gather.
import torch.nn.functional as F


def get_probs(logits, labels):
    b, t, v = logits.shape
    return -F.cross_entropy(logits.reshape(b * t, v), labels.reshape(b * t), reduction="none").reshape(b, t)
