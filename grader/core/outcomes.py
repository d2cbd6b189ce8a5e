"""How a sandboxed child ended, in words: one message for each way, for every kind of job.

A kata job (the engine) and an experiment job (grader.practice.experiment) end the same
ways: the sandbox failed, the wall clock ran out, a signal killed the process, the process
exited without results, the results file is not plain data, or the child reported a fatal
error (not started, a missing function, an exception at import). Each way has one message,
written here, so a crash reads the same whatever the child was doing.

Importing this module does not import torch (`load` imports it when called).
"""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Any

from grader.core.kata import Kata


@dataclass(frozen=True)
class Ending:
    """A child's work that produced no results to judge: the kata status and why."""

    status: str  # one of grader.core.results.KATA_STATUSES: "error", "timeout" or "not_started"
    message: str


def ended(outcome: Any, timeout: float) -> Ending | None:
    """Why `outcome` (a grader.sandbox.pool.Outcome) has no results, when the process did not exit by itself."""
    if outcome.lost:
        return Ending("error", f"the sandbox failed: {outcome.lost}")
    if outcome.timed_out:
        return Ending("timeout", f"did not finish within {timeout:g} s and was stopped (an infinite loop, or far "
                      "too slow); every process it started was ended.")
    if outcome.signal is not None:
        try:
            name = signal.Signals(outcome.signal).name
        except ValueError:
            name = str(outcome.signal)
        why = " (killed: likely out of memory)" if outcome.signal == signal.SIGKILL else \
            " (segmentation fault)" if outcome.signal == signal.SIGSEGV else ""
        return Ending("error", f"the submission's process crashed with {name}{why}.")
    return None


def load(outcome: Any) -> tuple[dict[str, Any] | None, Ending | None]:
    """The child's results file as plain data (`weights_only=True`), or why it cannot be read.

    Only the file's outer shape is checked here; what is inside is the child's say-so and
    each reader checks what it uses.
    """
    import torch

    try:
        result = torch.load(outcome.job.result, weights_only=True)
    except FileNotFoundError:
        return None, Ending("error", f"the submission's process exited (code {outcome.code}) without reporting "
                            "results: sys.exit, os._exit or a crash inside the submission.")
    except Exception as exc:  # weights_only refuses anything but plain tensors and data (tensor subclasses included)
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it contains a {found.group(1)}, which the grader does not load (return plain torch.Tensor " \
            "values, not a subclass)" if found else f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        return None, Ending("error", f"the submission's results are not plain tensors and data: {what}.")
    if not isinstance(result, dict):
        return None, Ending("error", f"the submission's results are not a record ({type(result).__name__}).")
    return result, None


def fatal(kata: Kata, fatal: dict[str, Any]) -> Ending:
    """The child's own report that the submission stopped its work (grader.sandbox.worker.fatal_error)."""
    kind = fatal.get("kind")
    if kind == "not_started":
        return Ending("not_started", f"{kata.filename} still raises NotImplementedError. "
                      f"`kata show {kata.name}` states the problem.")
    if kind == "missing":
        names = " and ".join(f"'{e}'" for e in kata.entry)
        return Ending("error", f"{kata.filename} {fatal.get('message', '')}; the kata needs {names}.")
    line = f":{fatal['line']}" if fatal.get("line") else ""
    text = f"\n    {fatal['text']}" if fatal.get("text") else ""
    return Ending("error", f"{kata.filename}{line}: {fatal.get('message', 'failed')}{text}")
