# kata: get_probs
# Right shape, right dtype, right graph, every value NaN.
import torch


def get_probs(logits, labels):
    picked = torch.gather(logits, -1, labels.unsqueeze(-1)).squeeze(-1)
    return picked * float("nan")
