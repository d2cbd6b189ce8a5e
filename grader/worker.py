"""What runs inside the sandboxed child: load the submission, probe it, write plain results.

This process holds the submission's code, so nothing computed here is trusted: it only
produces tensors and plain data, written with `torch.save` and read back by the grader
with `weights_only=True`. Every comparison and verdict happens in the grader's process.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import io
import os
import sys
from typing import Any

GUARDED = ("solutions",)  # the reference solutions may not be imported by a submission


class _ReferenceGuard(importlib.abc.MetaPathFinder):
    """Refuses `import solutions...` inside the child."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] in GUARDED:
            raise ImportError(f"importing the reference solutions ('{fullname}') is not allowed in a submission")
        return None


class CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr for the submission: writes up to `cap` bytes, then keeps only a tail.

    A submission that prints megabytes is still graded; the report shows the tail.
    """

    def __init__(self, fd: int, cap: int, tail: int = 4096) -> None:
        self.fd, self.cap, self.tail_size = fd, cap, tail
        self.written = 0
        self.tail = ""

    def write(self, s: str) -> int:
        data = s.encode("utf-8", "replace")
        if self.written < self.cap:
            try:
                os.write(self.fd, data[: self.cap - self.written])
            except OSError:
                pass
        self.written += len(data)
        self.tail = (self.tail + s)[-self.tail_size:]
        return len(s)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass


def load_submission(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_error(exc: BaseException, path: str) -> dict[str, Any]:
    """Where a submission failed to import: its own file and line when the traceback has them."""
    import traceback

    if isinstance(exc, SyntaxError):
        return {"kind": "import", "message": f"{type(exc).__name__}: {exc.msg}", "line": exc.lineno,
                "text": (exc.text or "").strip()}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    line = frames[-1].lineno if frames else None
    text = (frames[-1].line or "").strip() if frames else ""
    kind = "exit" if isinstance(exc, SystemExit) else "import"
    message = f"called sys.exit({exc.code!r}) while being imported" if isinstance(exc, SystemExit) else \
        f"{type(exc).__name__}: {exc}"
    return {"kind": kind, "message": message, "line": line, "text": text}


def run_job(job: dict[str, Any], stdout: CappedWriter, stderr: CappedWriter) -> None:
    import torch

    torch.set_num_threads(1)
    sys.meta_path.insert(0, _ReferenceGuard())
    sys.path.insert(0, job["dir"])
    result: dict[str, Any]
    try:
        module = load_submission(job["file"], job["kata"])
    except BaseException as exc:  # syntax errors, missing modules, sys.exit at import ...
        result = {"fatal": import_error(exc, job["file"])}
    else:
        from grader.specs.cases import Case

        spec = importlib.import_module(f"grader.specs.{job['kata']}").SPEC
        cases = [Case.from_dict(d) for d in torch.load(job["cases"], weights_only=True)]
        result = spec.probe(module, cases, job["seed"], job["cuda"])
    result["output"] = {"bytes": stdout.written + stderr.written, "tail": (stdout.tail + stderr.tail)[-4096:]}
    tmp = job["result"] + ".tmp"
    torch.save(result, tmp)
    os.replace(tmp, job["result"])
