# kata: get_probs
# Writes its own result file whose output tail is a list of 300000 numbers: a few hundred kB
# on disk, and past the number of values the grader reads from a child.
import os

import importlib

plain = importlib.import_module("grader.sandbox.plain")  # dynamically: a static import of grader is refused before any run

plain.dump({"fatal": {"kind": "crash", "message": "nothing"}, "output": {"bytes": 1, "tail": [0] * 300_000}},
           "result.bin")
os._exit(0)
