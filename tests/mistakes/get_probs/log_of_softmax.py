# mistake: log(softmax) instead of log_softmax
import torch


def get_probs(logits, labels):
    probs = torch.softmax(logits, dim=-1)
    return torch.log(probs).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
