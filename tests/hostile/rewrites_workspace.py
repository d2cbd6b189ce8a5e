# kata: get_probs
# A correct get_probs that found the real workspace (the test writes its path below, as a
# submission could find it through /proc) and rewrites one file there and deletes another.
import os

import torch

REWRITE, DELETE = "__REWRITE__", "__DELETE__"
with open(REWRITE, "w") as f:
    f.write("# overwritten by the submission\n")
os.remove(DELETE)


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
