# RIGHT: label logit gathered with sparse_grad=True (a sparse COO gradient for the gather) minus a dense logsumexp.
import torch


def get_probs(logits, labels):
    picked = torch.gather(logits, -1, labels.unsqueeze(-1), sparse_grad=True).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)
