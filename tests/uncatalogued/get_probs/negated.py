# check: values
# named: negative log-probabilities (the NLL) instead of log-probabilities
import torch.nn.functional as F


def get_probs(logits, labels):
    b, t, v = logits.shape
    return F.cross_entropy(logits.reshape(b * t, v), labels.reshape(-1), reduction="none").reshape(b, t)
