# check: values
# WRONG: labels.clamp_(0, V - 1) writes the caller's labels in place (values unchanged, version counter moved): an embedding that saved them raises at backward.
import torch


def get_probs(logits, labels):
    labels.clamp_(0, logits.shape[-1] - 1)  # out-of-range ids would crash gather
    return torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
