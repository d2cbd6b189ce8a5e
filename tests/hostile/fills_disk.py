# kata: get_probs
# Writes 16 MB files into its folder until the disk is full, then is a correct get_probs: a
# neighbour whose results cannot be written must not be blamed for it.
import os

import torch

chunk = b"\0" * (16 << 20)
written = 0
try:
    for i in range(100000):
        with open(f"filler-{i}", "wb") as f:
            f.write(chunk)
        written += len(chunk)
except OSError as exc:
    print(f"filled: {written >> 20} MB, then {exc.strerror}")


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
