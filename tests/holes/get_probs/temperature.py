# check: values
# WRONG: logits divided by a sampling temperature of 0.7 before log_softmax: every log-prob changes (the contract is log_softmax(logits) as given).
import torch


def get_probs(logits, labels, ):
    lp = torch.log_softmax(logits / 0.7, dim=-1)
    return lp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
