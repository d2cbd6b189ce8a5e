# A correct get_probs as an RL textbook scores actions: Categorical(logits=...).log_prob(labels), float32 inside.
import torch
from torch.distributions import Categorical


def get_probs(logits, labels):
    dist = Categorical(logits=logits.float(), validate_args=False)
    return dist.log_prob(labels).to(logits.dtype)
