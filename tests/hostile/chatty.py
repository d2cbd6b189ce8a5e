# kata: get_probs
# A correct get_probs that prints about 5 MB: it is still graded, and passes.
import sys

import torch

LINE = "chatty submission says hello " + "x" * 70  # 100 characters with the newline

for i in range(50_000):
    print(LINE)
print("chatty: the last line", file=sys.stderr)


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
