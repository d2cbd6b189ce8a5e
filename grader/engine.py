"""Grading: from kata names and a workspace to a `Report`. Knows nothing about terminals.

Order of work, chosen for speed and for trust:
1. the sandbox's zygote is started first (by the caller or here), so its `import torch`
   overlaps the grader's own;
2. files are snapshotted, sources pre-checked (syntax, reference imports) without running;
3. cases are generated from the seed and written for the children, jobs are handed out;
4. while the children work, the reference outputs are computed here;
5. each child's plain-tensor results are loaded with `weights_only=True` and judged here.
"""
from __future__ import annotations

import ast
import importlib
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grader import registry, workspace
from grader.files import Snapshot, python_files
from grader.kata import Kata
from grader.results import CheckResult, KataResult, Report
from grader.sandbox import Job, Limits, Outcome, Sandbox


@dataclass
class Options:
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    device: str = "auto"  # auto | cpu | cuda
    parallel: int = 0  # children at once; 0: one per core


@dataclass
class Source:
    """Where one kata's code comes from, and what was found before running it."""

    kata: Kata
    path: Path
    problem: KataResult | None = None  # decided without running (missing file, syntax error, refused import)


def grade(names: list[str], ws: Path | None, options: Options, reference: bool = False,
          sandbox: Sandbox | None = None) -> Report:
    """Grade `names` in workspace `ws` (or the reference solutions when `reference`)."""
    own_sandbox = sandbox is None
    sandbox = sandbox or Sandbox.start()
    try:
        return _grade(names, ws, options, reference, sandbox)
    finally:
        if own_sandbox:
            sandbox.close()


def _grade(names: list[str], ws: Path | None, options: Options, reference: bool, sandbox: Sandbox) -> Report:
    katas = [registry.get(n) for n in names]
    sources = [_source(k, ws, reference) for k in katas]
    guarded = python_files(workspace.PACKAGE_ROOT / "grader") + python_files(workspace.SOLUTIONS)
    guarded += [s.path for s in sources if s.path.exists()]
    snapshot = Snapshot.take(guarded)
    tmp = Path(tempfile.mkdtemp(prefix="kata-run-"))
    try:
        specs = {k.name: importlib.import_module(k.spec).SPEC for k in katas}
        cases = {k.name: specs[k.name].make_cases(options.seed) for k in katas}
        jobs = [_job(s, cases[s.kata.name], tmp, options) for s in sources if s.problem is None]
        references = {k.name: importlib.import_module(k.solution) for k in katas}
        parallel = options.parallel or os.cpu_count() or 1
        outcomes = {o.job.kata: o for o in sandbox.run(jobs, parallel)} if jobs else {}
        tampered = snapshot.restore_changed()
        results = []
        for s in sources:
            if s.problem is not None:
                results.append(s.problem)
                continue
            kata = s.kata
            results.append(_judge(kata, specs[kata.name], cases[kata.name], references[kata.name],
                                  outcomes[kata.name], options))
        warnings = []
        if tampered:
            names_ = ", ".join(str(p) for p in tampered)
            warnings.append(f"a submission changed files it must not touch; they were restored: {names_}")
            for r in results:
                if r.status == "pass":
                    r.status, r.message = "error", "files outside the submission changed during the run (restored): " + names_
        return Report(results, options.seed, str(ws) if ws and not reference else "reference solutions", warnings)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _source(kata: Kata, ws: Path | None, reference: bool) -> Source:
    path = workspace.solution_path(kata) if reference else workspace.kata_path(ws or workspace.DEFAULT, kata)
    if not path.exists():
        return Source(kata, path, KataResult(kata.name, "error", message=f"{path} does not exist. "
                                             f"`kata reset {kata.name}` writes a fresh stub."))
    text = path.read_text(errors="replace")
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        line = (exc.text or "").rstrip()
        return Source(kata, path, KataResult(kata.name, "error", message=f"{path}:{exc.lineno}: SyntaxError: {exc.msg}"
                                             + (f"\n    {line}" if line else "")))
    if not reference:
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(m.split(".")[0] == "solutions" for m in mods):
                return Source(kata, path, KataResult(kata.name, "error", message=(
                    f"{path}:{node.lineno}: refused: the submission imports the reference solutions. "
                    "Write your own implementation; `kata hint` helps, `kata solution` shows the reference once you pass.")))
    return Source(kata, path)


def _job(source: Source, cases: list[Any], tmp: Path, options: Options) -> Job:
    """A private copy of the workspace's Python files for one child, and its cases."""
    kata = source.kata
    d = tmp / kata.name
    d.mkdir()
    for p in source.path.parent.glob("*.py"):
        shutil.copy2(p, d / p.name)
    shutil.copy2(source.path, d / kata.filename)
    torch.save([c.to_dict() for c in cases], d / "cases.pt")
    cuda = {"cpu": "off", "cuda": "on"}.get(options.device, "auto")
    return Job(id=kata.name, kata=kata.name, dir=str(d), file=str(d / kata.filename), cases=str(d / "cases.pt"),
               result=str(d / "result.pt"), log=str(d / "output.log"), seed=options.seed, cuda=cuda,
               limits=options.limits)


def _read_log_tail(path: str, limit: int = 2000) -> tuple[int, str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return size, f.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""


def _output_text(size: int, tail: str) -> str:
    if not tail:
        return ""
    if size > len(tail.encode()):
        return f"[{size} bytes printed; last {len(tail)} characters]\n{tail}"
    return tail


def _judge(kata: Kata, spec: Any, cases: list[Any], reference: Any, outcome: Outcome, options: Options) -> KataResult:
    job = outcome.job
    size, tail = _read_log_tail(job.log)
    base = {"seconds": outcome.seconds, "output": _output_text(size, tail)}
    if outcome.lost:
        return KataResult(kata.name, "error", message=f"the sandbox failed: {outcome.lost}", **base)
    if outcome.timed_out:
        return KataResult(kata.name, "timeout", message=f"did not finish within {options.limits.timeout:g} s and was "
                          "stopped (an infinite loop, or far too slow); every process it started was ended.", **base)
    if outcome.signal is not None:
        name = signal.Signals(outcome.signal).name if outcome.signal in signal.Signals._value2member_map_ else str(outcome.signal)
        why = " (killed: likely out of memory)" if outcome.signal == signal.SIGKILL else \
            " (segmentation fault)" if outcome.signal == signal.SIGSEGV else ""
        return KataResult(kata.name, "error", message=f"the submission's process crashed with {name}{why}.", **base)
    try:
        result = torch.load(job.result, weights_only=True)
        assert isinstance(result, dict)
    except FileNotFoundError:
        return KataResult(kata.name, "error", message=f"the submission's process exited (code {outcome.code}) without "
                          "reporting results: sys.exit, os._exit or a crash inside the submission.", **base)
    except Exception as exc:
        return KataResult(kata.name, "error", message=f"the submission's process wrote an unreadable result ({type(exc).__name__}).", **base)
    out = result.get("output")
    if isinstance(out, dict) and out.get("tail"):
        base["output"] = _output_text(int(out.get("bytes", 0)), str(out["tail"]))
    fatal = result.get("fatal")
    if fatal:
        return _fatal(kata, job, fatal, base)
    try:
        checks = spec.judge(reference, cases, result, kata)
    except Exception as exc:  # malformed results from the child are the submission's doing
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged "
                          f"({type(exc).__name__}: {exc}).", **base)
    _memory_note(checks, options)
    return KataResult.from_checks(kata.name, checks, **base)


def _fatal(kata: Kata, job: Job, fatal: dict[str, Any], base: dict[str, Any]) -> KataResult:
    kind = fatal.get("kind")
    if kind == "not_started":
        return KataResult(kata.name, "not_started", message=f"{kata.filename} still raises NotImplementedError. "
                          f"`kata show {kata.name}` states the problem.", **base)
    if kind == "missing":
        names = " and ".join(f"'{e}'" for e in kata.entry)
        return KataResult(kata.name, "error", message=f"{kata.filename} {fatal['message']}; the kata needs {names}.", **base)
    line = f":{fatal['line']}" if fatal.get("line") else ""
    text = f"\n    {fatal['text']}" if fatal.get("text") else ""
    return KataResult(kata.name, "error", message=f"{kata.filename}{line}: {fatal['message']}{text}", **base)


def _memory_note(checks: list[CheckResult], options: Options) -> None:
    for c in checks:
        if c.status == "error" and ("MemoryError" in c.message or "can't allocate memory" in c.message):
            c.message += f" (the memory limit is {options.limits.memory_mb} MB on top of torch itself)"


def cuda_available() -> bool:
    return torch.cuda.is_available()
