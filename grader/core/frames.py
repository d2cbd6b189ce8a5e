"""A traceback as plain lines, so that `--verbose` can show every frame of an error.

The child records every frame of an exception it reports (`lines`); the report shows only
the submission's own line by default, and all of them, the grader's and torch's included,
with `--verbose`. The frames come from the child, so the grader reads them back through
`frames_of`, which keeps only bounded strings. No torch.
"""
from __future__ import annotations

import traceback
from types import TracebackType
from typing import Any

MAX_FRAMES = 40  # the innermost ones are kept
MAX_LINE = 300


def short_path(filename: str) -> str:
    """'torch/nn/functional.py' for an installed package, 'grader/...' for the grader, else the
    file's own name (the submission is graded from a copy in a run folder)."""
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    if "/grader/" in path:
        return "grader/" + path.rsplit("/grader/", 1)[1]
    return path.rsplit("/", 1)[-1]


def lines(tb: TracebackType | None) -> list[str]:
    """Every frame of `tb`, outermost first, as 'file:line in function: code'."""
    out = []
    for f in traceback.extract_tb(tb)[-MAX_FRAMES:]:
        code = (f.line or "").strip()
        out.append(f"{short_path(f.filename)}:{f.lineno} in {f.name}" + (f": {code}" if code else ""))
    return [line[:MAX_LINE] for line in out]


def frames_of(record: Any) -> list[str]:
    """The 'traceback' a child recorded in `record`, as bounded strings (anything else: none)."""
    frames = record.get("traceback") if isinstance(record, dict) else None
    if not isinstance(frames, list):
        return []
    return [line[:MAX_LINE] for line in frames[-MAX_FRAMES:] if isinstance(line, str)]
