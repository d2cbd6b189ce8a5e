# mistake: probabilities instead of log-probabilities
import torch


def get_probs(logits, labels):
    return torch.gather(logits.softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
