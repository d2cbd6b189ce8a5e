"""How a sandboxed child ended, in words: one message for each way, for every kind of job.

A kata job (the engine) and an experiment job (grader.practice.experiment) end the same
ways: the sandbox failed, the wall clock ran out, a signal killed the process, the process
exited without results, the results file is not plain data, or the child reported a fatal
error (not started, a missing function, an exception at import). Each way has one message,
written here, so a crash reads the same whatever the child was doing.

Importing this module does not import torch (`load` imports it when called).
"""
from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from grader.core import frames
from grader.core.kata import Kata


@dataclass(frozen=True)
class Ending:
    """A child's work that produced no results to judge: the kata status and why."""

    status: str  # one of grader.core.results.KATA_STATUSES: "error", "timeout" or "not_started"
    message: str
    traceback: tuple[str, ...] = ()  # every frame of the exception that ended it, when one did


def ended(outcome: Any, limits: Any) -> Ending | None:
    """Why `outcome` (a grader.sandbox.pool.Outcome) has no results to judge, when the process did
    not end by itself with results (`limits`: the grader.sandbox.pool.Limits it ran under)."""
    from grader.sandbox.worker import TOO_LARGE, UNWRITABLE

    if outcome.lost:
        return Ending("error", f"the sandbox failed: {outcome.lost}")
    if outcome.refused:
        return Ending("error", f"the system refused a new process for this kata ({outcome.refused}), twice, the "
                      "second time when nothing else was running: too many processes (a pids limit, ulimit -u), "
                      "perhaps left by a submission graded beside it. Nothing of it ran; grade it again.")
    if outcome.disk > limits.disk_cap:
        return Ending("error", f"left {outcome.disk / 2**20:.0f} MB in its folder, more than the "
                      f"{limits.disk_cap >> 20} MB a kata may leave: filling the temporary folder would stop the "
                      "submissions graded beside it. Its files were deleted.")
    if outcome.filled_disk:
        return Ending("error", f"filled the temporary folder (it left {outcome.disk / 2**20:.0f} MB in its folder "
                      "when the disk ran out), so the submissions graded beside it could not store their results; "
                      "they were graded again. Its files were deleted.")
    if outcome.code == TOO_LARGE:
        return Ending("error", f"its results are larger than the {limits.file_cap >> 20} MB a kata's results may "
                      "take: an output far larger than the kata's (a tensor broadcast by mistake?) or one returned "
                      "many times over.")
    if outcome.code == UNWRITABLE and outcome.room_left:
        return Ending("error", "the process exited with the code the grader's worker uses for a full temporary "
                      "folder, twice, while the folder had room: the submission ended its own process (os._exit).")
    if outcome.code == UNWRITABLE:
        return Ending("error", "the grader could not store this kata's results: the temporary folder is full. This "
                      "is not the submission's doing (another one may have filled it); free some space and grade "
                      "it again.")
    if outcome.timed_out:
        return Ending("timeout", f"did not finish within {limits.timeout:g} s and was stopped (an infinite loop, or "
                      "far too slow); every process it started was ended.")
    if outcome.signal == signal.SIGXCPU or outcome.signal == signal.SIGKILL and outcome.cpu is not None \
            and outcome.cpu >= limits.cpu_seconds:
        return Ending("timeout", f"used {limits.cpu_seconds} s of CPU time (its threads together) and was stopped: "
                      "the timeout limits CPU time too, so that one submission cannot slow down the others.")
    if outcome.signal is not None:
        try:
            name = signal.Signals(outcome.signal).name
        except ValueError:
            name = str(outcome.signal)
        why = " (killed: likely out of memory)" if outcome.signal == signal.SIGKILL else \
            " (segmentation fault)" if outcome.signal == signal.SIGSEGV else ""
        return Ending("error", f"the submission's process crashed with {name}{why}.")
    return None


def load(outcome: Any, max_elements: int | None = None) -> tuple[dict[str, Any] | None, Ending | None]:
    """The child's results file as plain data, or why it cannot be read. The file is untrusted:
    a regular file of bounded size, read with bounded depth and node count, its tensors no
    larger than `max_elements` each (grader.sandbox.plain, grader.sandbox.untrusted).

    Only the file's outer shape is checked here; what is inside is the child's say-so and
    each reader checks what it uses.
    """
    from grader.sandbox import plain, untrusted
    from grader.sandbox.worker import WORKER_FAILED

    job = outcome.job
    try:
        result = plain.load_result(job.result, job.limits.file_cap, untrusted.MAX_TOTAL_ELEMENTS if max_elements is None else max_elements)
    except FileNotFoundError:
        failed = worker_failure(job.log) if outcome.code == WORKER_FAILED else ""
        if failed:
            # The mark and the code are what the worker writes when it fails, and what a submission can
            # write too (os.write(2, mark); os._exit(3)): both readings are given, neither is asserted.
            return None, Ending("error", f"the sandboxed process ended as the grader's worker does when its own code "
                                f"fails ({failed}). Either the grader failed after the submission ran (a bug in the "
                                "grader: please report it with this message), or the submission wrote that line and "
                                "ended its own process with the worker's exit code; the grader cannot tell which, so "
                                "the kata was not judged.")
        return None, Ending("error", f"the submission's process exited (code {outcome.code}) without reporting "
                            "results: sys.exit, os._exit or a crash inside the submission.")
    except untrusted.Untrusted as exc:  # a FIFO, a link, too large, too deep, tensors larger than the kata's
        return None, Ending("error", f"the submission's results could not be judged ({exc}).")
    except plain.NotPlain as exc:  # the child met something it could not write as plain data
        return None, Ending("error", f"the submission's results are not plain tensors and data: it contains a "
                            f"{exc}, which the grader does not load (return plain torch.Tensor values).")
    except OSError as exc:
        return None, Ending("error", f"the submission's results could not be read ({exc.strerror or exc}).")
    if not isinstance(result, dict):
        return None, Ending("error", f"the submission's results could not be judged (they are a "
                            f"{type(result).__name__}, not a record).")
    return result, None


def worker_failure(log: str) -> str:
    """What the child's log says the grader's worker raised ("" when it says nothing): its last
    line that starts with WORKER_FAILED_MARK, bounded (the log is the child's, so untrusted)."""
    from grader.sandbox import untrusted
    from grader.sandbox.worker import WORKER_FAILED_MARK

    _, tail = untrusted.read_tail(log, 4000)
    lines = [line for line in tail.splitlines() if line.startswith(WORKER_FAILED_MARK)]
    return "".join(ch for ch in lines[-1][len(WORKER_FAILED_MARK):][:300] if ch.isprintable()) if lines else ""


def fatal(kata: Kata, fatal: dict[str, Any]) -> Ending:
    """The child's own report that the submission stopped its work (grader.sandbox.worker.fatal_error)."""
    kind = fatal.get("kind")
    if kind == "not_started":
        return Ending("not_started", f"{kata.filename} still raises NotImplementedError. "
                      f"`kata show {kata.name}` states the problem.")
    if kind == "missing":
        names = " and ".join(f"'{e}'" for e in kata.entry)
        return Ending("error", f"{kata.filename} {str(fatal.get('message', ''))[:500]}; the kata needs {names}.")
    line = f":{fatal['line']}" if type(fatal.get("line")) is int else ""  # the child's say-so: checked
    text = f"\n    {fatal['text'][:500]}" if isinstance(fatal.get("text"), str) and fatal["text"] else ""
    other = fatal.get("file")  # the helper module where a syntax error is, when not the kata's file
    where = other[:200] if isinstance(other, str) and other.endswith(".py") and "/" not in other else kata.filename
    return Ending("error", f"{where}{line}: {str(fatal.get('message', 'failed'))[:2000]}{text}",
                  tuple(frames.frames_of(fatal)))
