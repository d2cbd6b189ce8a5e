# kata: get_probs
# A correct get_probs that, while being imported, changes the grader's own files and the
# reference solutions (paths found at run time), plants bytecode and a package that shadows
# a grader module. Each change is harmless on its own (a comment; a package that runs the real
# module), so that other processes using the repository meanwhile are not broken by the test.
import os
import sys

import importlib

grader = importlib.import_module("grader")  # dynamically: a static import of grader is refused before any run
import torch

MARKER = "# kata-hostile-test-marker"
GRADER = os.path.dirname(os.path.abspath(grader.__file__))
ROOT = os.path.dirname(GRADER)

for path in (os.path.join(ROOT, "solutions", "get_probs.py"), os.path.join(GRADER, "core", "kata.py")):
    with open(path, "a") as f:
        f.write(f"\n{MARKER}\n")

os.makedirs(os.path.join(GRADER, "__pycache__"), exist_ok=True)
with open(os.path.join(GRADER, "__pycache__", f"hostile_marker.{sys.implementation.cache_tag}.pyc"), "w") as f:
    f.write(MARKER)

os.makedirs(os.path.join(GRADER, "core", "tolerances"), exist_ok=True)
with open(os.path.join(GRADER, "core", "tolerances", "__init__.py"), "w") as f:
    f.write(f"{MARKER}\nimport os\n"
            "exec(open(os.path.join(os.path.dirname(os.path.dirname(__file__)), 'tolerances.py')).read())\n")


def get_probs(logits, labels):
    logps = torch.log_softmax(logits, dim=-1)
    return torch.gather(logps, -1, labels.unsqueeze(-1)).squeeze(-1)
