# check: inputs_unchanged
# WRONG: torch.set_flush_denormal(True) left on: the caller's subnormal floats become 0 for the rest of the process.
import torch


def get_probs(logits, labels):
    torch.set_flush_denormal(True)  # denormals make exp() slow on x86
    return torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
