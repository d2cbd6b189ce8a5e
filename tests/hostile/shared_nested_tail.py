# kata: get_probs
# Writes its own result file whose output tail is a list shared with itself 25 times over:
# 2**25 paths through a few hundred bytes of pickle, so str() of it never ends.
import os

import torch

tail = "the tail"
for _ in range(25):
    tail = [tail, tail]
torch.save({"fatal": {"kind": "crash", "message": "nothing"}, "output": {"bytes": 1, "tail": tail}}, "result.pt")
os._exit(0)
