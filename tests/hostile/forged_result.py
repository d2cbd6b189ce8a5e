# kata: get_probs
# Writes a result file of its own where the child would, then leaves at once: one run per case
# (it counts them in the grader's case file), each without error and without outputs, which
# checks that compare outputs pairwise would find nothing wrong with.
import glob
import os

import importlib

plain = importlib.import_module("grader.sandbox.plain")  # dynamically: a static import of grader is refused before any run

cases = plain.load(glob.glob(os.path.join("..", "..", "get_probs.cases.bin"))[0])
run = {"error": None, "outputs": [], "types": [], "grads": {}, "backward_error": None, "custom_backward": False,
       "inputs_after": {}, "flags_changed": [], "returned": None, "grad_set": [], "upstream_changed": False,
       "hooked": [], "written": [], "changed_by_backward": []}
bare = {"error": None, "outputs": [], "types": [], "recording": False, "by_name": False}
plain.dump({"signature": None, "runs": [dict(run) for _ in cases], "rows": {"outputs": [], "inputs_changed": []},
            "no_grad": {"inputs_changed": [], "runs": [dict(bare) for _ in cases], "reused": None, "global_state": None},
            "trained": None, "alone": None, "meta": {"status": "ok", "detail": ""}, "cuda": {"skip": "forged"},
            "gradcheck": {"ran": False}, "interleaved": None, "default_float64": None},
           "result.bin")
os._exit(0)
