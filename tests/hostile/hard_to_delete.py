# kata: get_probs
# A correct get_probs that leaves a folder it can write but not list (mode 0300) holding a
# file: a plain rmtree by an unprivileged grader cannot delete it.
import os

import torch

os.mkdir("hidden", 0o300)
with open(os.path.join("hidden", "kept"), "w") as f:
    f.write("left behind")


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
