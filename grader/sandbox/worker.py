"""What runs inside the sandboxed child: load the submission, probe it, write plain results.

This process holds the submission's code, so nothing computed here is trusted: it only
produces tensors and plain data, written in grader.sandbox.plain's format and read back by
the grader as untrusted data. Every comparison and verdict happens in the grader's process.

Whatever the submission does (sys.exit, KeyboardInterrupt, running out of memory, importing
the reference), the child still reports *why* it stopped, as a `fatal` entry the grader
turns into an error; a child that reports nothing at all is an error too (see the engine).
"""
from __future__ import annotations

import errno
import functools
import importlib
import importlib.abc
import importlib.util
import io
import os
import re
import sys
import traceback
import types
from typing import Any

from grader.core import frames
from grader.sandbox import plain

GUARDED = ("solutions",)  # the reference solutions may not be imported by a submission
UNWRITABLE = 5  # the child's exit code when its results could not be stored (a full disk): not the submission's doing
WORKER_FAILED = 3  # the child's exit code when the grader's own code in it raised (grader.sandbox.zygote)
TOO_LARGE = 6  # the child's exit code when the submission's results are larger than the file cap
WORKER_FAILED_MARK = "[grader] the sandboxed worker failed: "  # how the child's log says why


class ResultsTooLarge(Exception):
    """The submission's results are larger than a child may write (Limits.file_cap): its doing."""


class ResultsUnwritable(Exception):
    """The results (or the log) could not be written for want of space: the grader's side failed.
    A neighbour that fills the temporary folder must not make this submission look broken."""


class ReferenceRefused(BaseException):
    """Raised for `import solutions...` in the child. A BaseException, so that neither the
    submission's own `except Exception` / `except ImportError` nor the probe's per-case error
    handling can swallow it: the whole kata is refused."""


class MemoryLimitHit(BaseException):
    """The submission ran out of memory under the child's limit; probing further only repeats it."""


class _ReferenceGuard(importlib.abc.MetaPathFinder):
    """Refuses `import solutions...` inside the child (static imports are refused earlier, by the engine)."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] in GUARDED:
            self.refused.append(fullname)
            raise ReferenceRefused(fullname)
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


def is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or torch's CPU allocator failing (a RuntimeError) under the child's limit."""
    return isinstance(exc, (MemoryError, MemoryLimitHit)) or \
        (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def guard_memory(fn: Any) -> Any:
    """`fn`, but running out of memory ends the kata at once instead of being reported per case
    (a runaway allocation repeated in every case and training step would only reach the timeout)."""

    @functools.wraps(fn)  # inspect.signature follows __wrapped__: the signature check sees `fn`'s
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_out_of_memory(exc):
                said = str(exc).strip()
                raise MemoryLimitHit(f"{type(exc).__name__}: {said}" if said else type(exc).__name__) \
                    .with_traceback(exc.__traceback__) from None
            raise

    return guarded


def guard_entries(module: Any, job: dict[str, Any]) -> None:
    from grader import registry

    kata = registry.KATAS.get(job["kata"])
    names = kata.entry if kata is not None else ()
    if job.get("experiment"):
        names = (*names, job["experiment"]["function"])
    for name in names:
        fn = getattr(module, name, None)
        if isinstance(fn, types.FunctionType):
            setattr(module, name, guard_memory(fn))


def _where(exc: BaseException, path: str) -> tuple[int | None, str]:
    """The submission's own line in `exc`'s traceback, when it has one."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return (frames[-1].lineno, (frames[-1].line or "").strip()) if frames else (None, "")


def fatal_error(exc: BaseException, path: str, when: str, memory_mb: int = 0) -> dict[str, Any]:
    """Why the submission stopped the child's work, while being `when` ("imported" or "graded")."""
    if isinstance(exc, SyntaxError):
        out = {"kind": "import", "message": f"{type(exc).__name__}: {exc.msg}", "line": exc.lineno,
               "text": (exc.text or "").strip()}
        other = os.path.basename(exc.filename or "")
        if other and other != os.path.basename(path):  # a helper module the submission imports
            out["file"] = other
        return out
    line, text = _where(exc, path)
    out = {"line": line, "text": text, "traceback": frames.lines(exc.__traceback__)}
    if isinstance(exc, ReferenceRefused):
        return {**out, "kind": "refused", "message": f"refused: the submission imports the reference solutions "
                f"('{exc}') while being {when}. Write your own implementation; `kata hint` helps."}
    if is_out_of_memory(exc):
        limit = f"the memory limit of {memory_mb} MB (--memory-mb) on top of torch itself" if memory_mb \
            else "the memory available"
        said = str(exc).strip()
        asked = re.search(r"you tried to allocate (\d+) bytes", said)
        detail = f"an allocation of {int(asked.group(1)) / 2**20:.0f} MB failed" if asked else \
            (said.splitlines()[0][:300] if said else type(exc).__name__)
        return {**out, "kind": "memory", "message": f"ran out of memory while being {when}: it needs more than "
                f"{limit} ({detail})"}
    if isinstance(exc, SystemExit):
        return {**out, "kind": "exit", "message": f"called sys.exit({exc.code!r}) while being {when}"}
    message = f"{type(exc).__name__}: {str(exc).strip()[:500]}"
    if when == "imported":
        return {**out, "kind": "import", "message": message}
    return {**out, "kind": "crash", "message": f"{message} while being {when}"}


def run_job(job: dict[str, Any], stdout: CappedWriter, stderr: CappedWriter) -> None:
    import torch

    from grader.checks import torch_state

    torch.set_num_threads(1)
    torch_state.install_thread_stand_ins()  # before the submission can bind torch.set_num_threads
    guard = _ReferenceGuard()
    for name in [m for m in sys.modules if m.split(".")[0] in GUARDED]:
        del sys.modules[name]  # a cached module would be handed out without asking the guard
    sys.meta_path.insert(0, guard)
    sys.path[:0] = [job["dir"], *job.get("modules", [])]  # its own folder, then the workspace's other modules
    memory_mb = int(job.get("memory_mb") or 0)
    result: dict[str, Any]
    try:
        module = load_submission(job["file"], job["kata"])
    except BaseException as exc:  # syntax errors, missing modules, sys.exit at import ...
        result = {"fatal": fatal_error(exc, job["file"], "imported", memory_mb)}
    else:
        from grader.practice.experiment import child_spec
        from grader.checks.cases import Case

        guard_entries(module, job)
        # An experiment job (grader.practice.experiment) trains the toy policy instead of probing cases.
        spec = child_spec(job) or importlib.import_module(f"grader.catalog.{job['kata']}.spec").SPEC
        cases = [Case.from_dict(d) for d in plain.load(job["cases"])]
        try:
            result = spec.probe(module, cases, job["seed"], job["cuda"])
        except BaseException as exc:  # sys.exit or KeyboardInterrupt in the function, memory, a refused import
            result = {"fatal": fatal_error(exc, job["file"], "graded", memory_mb)}
    if guard not in sys.meta_path:  # taken out so that the reference could be imported
        guard.refused.append("solutions (the grader's import guard was removed from sys.meta_path)")
    loaded = [m for m in list(sys.modules) if m.split(".")[0] in GUARDED]
    if loaded:  # loaded past the guard (a finder of its own placed before it)
        guard.refused.append(loaded[0])
    if guard.refused and not (result.get("fatal") or {}).get("kind") == "refused":
        # the submission caught the refusal itself: it is still refused
        result = {"fatal": fatal_error(ReferenceRefused(guard.refused[0]), job["file"], "graded", memory_mb)}
    result["output"] = {"bytes": _count(stdout) + _count(stderr), "tail": (_tail(stdout) + _tail(stderr))[-4096:]}
    tmp = job["result"] + ".tmp"
    try:

        plain.dump(result, tmp)
        os.replace(tmp, job["result"])
    except OSError as exc:
        # ENOSPC is the file system's word whatever statvfs says now: a neighbour may have used up
        # the inodes (not the bytes), or freed what it held a moment later.
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or _disk_full(job["dir"], job.get("file_cap", 0)):
            raise ResultsUnwritable(f"the results could not be written: the temporary folder is full ({exc})") from None
        if exc.errno == errno.EFBIG:  # past RLIMIT_FSIZE: the file cap
            raise ResultsTooLarge(str(exc)) from None
        raise


def _count(writer: Any) -> int:
    """Bytes printed; the submission can overwrite the counter (sys.stdout.written = inf), so it is checked."""
    n = getattr(writer, "written", 0)
    return n if type(n) is int and 0 <= n < 2**62 else 0


def _tail(writer: Any) -> str:
    t = getattr(writer, "tail", "")
    return t[-4096:] if type(t) is str else ""


def _disk_full(folder: str, need: int) -> bool:
    """True when the folder's file system has less room left than one result file may need."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    no_inodes = st.f_files > 0 and st.f_favail < 16  # file systems without inode counts report 0 files
    return st.f_bavail * st.f_frsize < max(need, 1 << 20) or no_inodes
