# check: values
# status: error
# WRONG: a functools.wraps decorator forwards *args only: get_probs(logits=..., labels=...) raises TypeError.
import functools
import time

import torch


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        start = time.perf_counter()
        out = fn(*args)
        wrapper.seconds += time.perf_counter() - start
        return out
    wrapper.seconds = 0.0
    return wrapper


@timed
def get_probs(logits, labels):
    return torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
