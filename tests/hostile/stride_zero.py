# kata: get_probs
# Writes its own result file in which every output and gradient is a stride-0 view of one
# element that claims 2**26 elements: a few bytes on disk, 256 MB each once compared.
import glob
import os

import torch

import importlib

plain = importlib.import_module("grader.sandbox.plain")  # dynamically: a static import of grader is refused before any run

cases = plain.load(glob.glob(os.path.join("..", "..", "get_probs.cases.bin"))[0])
huge = torch.zeros(1, dtype=torch.float64).expand(2**26)
desc = {"tensor": True, "type": "Tensor", "shape": [2**26], "dtype": "float64", "requires_grad": False,
        "grad_fn": True, "device": "cpu"}
run = {"error": None, "outputs": [huge], "types": [desc], "grads": {"logits": huge}, "backward_error": None,
       "custom_backward": False, "inputs_after": {}}
plain.dump({"signature": None, "runs": [dict(run) for _ in cases], "rows": {"outputs": [[huge]]},
            "meta": {"status": "ok", "detail": ""}, "cuda": {"skip": "forged"}, "gradcheck": {"ran": False}},
           "result.bin")
os._exit(0)
