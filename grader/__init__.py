"""dpo-kata: katas and a grader for post-training losses (preference and policy-gradient) in PyTorch.

`from grader import grade` is the notebook API (`grader.api`). Importing the package stays
light: `grade` is loaded on first use, and torch only when something is graded.
"""
from typing import Any

__version__ = "0.1.0"
__all__ = ["grade"]


def __getattr__(name: str) -> Any:
    if name == "grade":
        from grader.api import grade

        return grade
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
