# kata: get_probs
# Asks torch for 4 GB on every call.
import torch


def get_probs(logits, labels):
    hog = torch.ones(1 << 30)  # 4 GB of float32
    return hog[: labels.numel()].view(labels.shape)
