"""Grading: from kata names and workspaces to one `Report` per workspace. Knows nothing about terminals.

Grading one workspace is the one-workspace case of grading a cohort (`grade_many`).
Order of work, chosen for speed and for trust:
1. the sandbox's zygote is started first (by the caller or here), so its `import torch`
   overlaps the grader's own;
2. sources are pre-checked (syntax, reference imports) without running;
3. cases are generated from the seed once per kata and written for the children; files are
   snapshotted and one job per (workspace, kata) is handed out;
4. each child's plain-tensor results are loaded with `weights_only=True` and judged here,
   against the reference's runs, computed once per kata.
"""
from __future__ import annotations

import importlib
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grader import registry
from grader.core import workspace
from grader.core import runfolders
from grader.core.sources import Source, private_copy, read_source as _source, shared_modules as _shared_modules  # noqa: F401
from grader.core.files import Snapshot, python_files
from grader.core.kata import Kata
from grader.core.results import CheckResult, KataResult, Report
from grader.sandbox import untrusted
from grader.sandbox.pool import Job, Limits, Outcome, Sandbox
from grader.sandbox.worker import UNWRITABLE
from grader.checks.function import FunctionSpec


@dataclass
class Options:
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    device: str = "auto"  # auto | cpu | cuda
    parallel: int = 0  # children at once; 0: one per core


def grade(names: list[str], ws: Path | None, options: Options, reference: bool = False,
          sandbox: Sandbox | None = None) -> Report:
    """Grade `names` in workspace `ws` (or the reference solutions when `reference`): the
    one-workspace case of `grade_many`."""
    return grade_many(names, [None if reference else (ws or workspace.DEFAULT)], options, sandbox)[0]


def grade_many(names: list[str], workspaces: list[Path | None], options: Options,
               sandbox: Sandbox | None = None) -> list[Report]:
    """Grade `names` in every workspace (None: the reference solutions), one `Report` each, in order.

    One sandbox serves them all, so torch is imported once per run; the zygote forks a child
    per (workspace, kata) job. Cases and reference outputs depend only on the kata and the
    seed, so they are computed once per kata whatever the number of workspaces.
    """
    own_sandbox = sandbox is None
    sandbox = sandbox or Sandbox.start()
    try:
        return _grade(names, workspaces, options, sandbox)
    finally:
        if own_sandbox:
            sandbox.close()


class _Plan:
    """One kata's side of a run, shared by every workspace: spec, cases, the reference's runs."""

    def __init__(self, kata: Kata, options: Options, tmp: Path) -> None:
        self.kata = kata
        self.spec = importlib.import_module(kata.spec).SPEC
        self.cases = self.spec.make_cases(options.seed)
        self.cases_file = tmp / f"{kata.name}.cases.pt"  # read by every child of this kata
        self.problem = ""  # why this kata cannot be run at all (the grader's own write failed)
        try:
            torch.save([c.to_dict() for c in self.cases], self.cases_file)
            self.cases_file.chmod(0o444)  # children only read it
        except (OSError, RuntimeError) as exc:  # torch reports a failed write as RuntimeError
            self.problem = f"the grader could not write this kata's cases to {tmp} ({exc}). Nothing was run."
        self.reference = importlib.import_module(kata.solution)
        self.expected: list[Any] | None = None  # the reference's runs on the cases, once a submission needs them
        # No honest result holds a tensor much larger than the kata's largest input (an output
        # broadcast by mistake is (B, B) where (B,) was due): anything larger is refused unread.
        sizes = [v.numel() for c in self.cases for d in (c.inputs, c.options) for v in d.values()
                 if isinstance(v, torch.Tensor)]
        self.max_elements = max(1 << 16, 64 * max(sizes, default=0))

    def prepare(self) -> None:
        if self.expected is None:
            self.expected = self.spec.expected(self.reference, self.cases)


def _grade(names: list[str], workspaces: list[Path | None], options: Options, sandbox: Sandbox) -> list[Report]:
    katas = [registry.get(n) for n in dict.fromkeys(names)]  # a kata named twice is graded once
    sources = [[_source(k, ws, options.limits.source_cap) for k in katas] for ws in workspaces]  # [workspace][kata]
    own = [s.path for ws, row in zip(workspaces, sources) if ws is not None for s in row if s.problem is None]
    watched = [s.path for row in sources for s in row if s.problem is None]
    runfolders.sweep_runs()  # what a killed run left behind
    tmp = runfolders.run_folder()
    try:
        plans = {k.name: _Plan(k, options, tmp) for k in katas}
        jobs = []
        for i, (ws, row) in enumerate(zip(workspaces, sources)):
            modules = _shared_modules(ws, tmp / str(i) / "_modules", row, options.limits.source_cap)
            for s in row:
                if s.problem is None and plans[s.kata.name].problem:
                    s.problem = KataResult(s.kata.name, "error", message=plans[s.kata.name].problem)
                if s.problem is None:
                    try:
                        jobs.append(_job(i, s, plans[s.kata.name], tmp, options, modules))
                    except OSError as exc:  # the grader's own write (a full temporary folder): this kata only
                        s.problem = KataResult(s.kata.name, "error", message=f"the grader could not prepare this "
                                               f"kata in {tmp}: {exc.strerror or exc}. Nothing was run.")
        for name in dict.fromkeys(j.kata for j in jobs):  # while a fresh zygote warms up, not after the children
            plans[name].prepare()
        parallel = options.parallel or os.cpu_count() or 1
        outcomes, edited, tampered = run_guarded(sandbox, jobs, parallel, options.limits, watched, own)
        outcomes, edited2, tampered2 = _retry_unwritable(sandbox, outcomes, parallel, options.limits, watched, own)
        edited, tampered = edited + edited2, tampered + tampered2
        reports = []
        for i, (ws, row) in enumerate(zip(workspaces, sources)):
            results = [s.problem if s.problem is not None else
                       _judge(plans[s.kata.name], outcomes[_job_id(i, s.kata)], options) for s in row]
            warnings = []
            if edited:
                warnings.append("files the grader guards changed during the run; the submissions could not write "
                                "there (Landlock), so they were left as they are: " + ", ".join(map(str, edited)))
            if tampered:
                names_ = ", ".join(str(p) for p in tampered)
                warnings.append(f"files a submission must not touch changed during the run: {names_}")
                for r in results:
                    if r.status == "pass":
                        r.status, r.message = "error", "files outside the submission changed during the run: " + names_
            reports.append(Report(results, options.seed, str(ws) if ws is not None else "reference solutions", warnings))
        return reports
    finally:
        runfolders.remove_tree(tmp)


def _retry_unwritable(sandbox: Sandbox, outcomes: dict[str, Outcome], parallel: int, limits: Limits,
                      watched: list[Path], own: list[Path]) -> tuple[dict[str, Outcome], list[Path], list[Path]]:
    """A child that fills the temporary folder makes its neighbours' result writes fail (exit code
    UNWRITABLE). The child that left more than the disk cap, or the most when the disk ran out, is
    that kata's error and its files are deleted; the others run again once, so they get the
    verdicts they get alone."""
    for o in outcomes.values():
        o.disk = runfolders.disk_usage(Path(o.job.dir))
    full = [o for o in outcomes.values() if o.code == UNWRITABLE]
    biggest = max(outcomes.values(), key=lambda o: o.disk, default=None)
    if full and biggest is not None and biggest.disk >= HOG_MIN:
        biggest.filled_disk = True
    for o in outcomes.values():
        if o.disk > limits.disk_cap or o.filled_disk:
            runfolders.empty_folder(Path(o.job.dir), keep=Path(o.job.log).name)  # its log stays for the report
    again = [o.job for o in full if not o.filled_disk]
    if not again:
        return outcomes, [], []
    more, edited, tampered = run_guarded(sandbox, again, parallel, limits, watched, own)
    return {**outcomes, **more}, edited, tampered


HOG_MIN = 16 << 20  # an honest child leaves a few kB to a few MB of results; the disk filler leaves more


def run_guarded(sandbox: Sandbox, jobs: list[Job], parallel: int, limits: Limits, watched: list[Path],
                own: list[Path]) -> tuple[dict[str, Outcome], list[Path], list[Path]]:
    """Run `jobs` with the grader's files, the reference solutions and `watched` guarded.

    Returns the outcomes by job id, the guarded files that changed although the children could
    not write them (Landlock: someone's edit, reported and left alone), and the files a child
    may have changed, which were restored (the other version kept in a backup; `own`, the
    user's files, never overwritten).
    """
    if not jobs:
        return {}, [], []
    guarded = python_files(workspace.PACKAGE_ROOT / "grader") + python_files(workspace.SOLUTIONS) + watched
    # Taken just before the children run, compared as soon as they have ended (after Ctrl-C too:
    # Sandbox.run then ends them before it lets the interrupt through).
    snapshot = Snapshot.take(guarded, roots=(workspace.PACKAGE_ROOT / "grader", workspace.SOLUTIONS))
    try:
        outcomes = {o.job.id: o for o in sandbox.run(jobs, parallel)}
    finally:
        edited, tampered = (snapshot.changed(), []) if sandbox.confined(limits) else \
            ([], snapshot.restore_changed(keep=own))
    return outcomes, edited, tampered


def _job_id(index: int, kata: Kata) -> str:
    """Unique per (workspace, kata): the sandbox keys its outcomes by it."""
    return f"{index}/{kata.name}"


def _job(index: int, source: Source, plan: _Plan, tmp: Path, options: Options, modules: Path | None) -> Job:
    """A private copy of the kata's file for one child; the workspace's modules and the kata's cases, shared."""
    kata = source.kata
    d = tmp / str(index) / kata.name
    private_copy(source.path, d, kata.filename, data=source.data)
    modules = modules or workspace.SOLUTIONS  # the reference solutions' modules are their own folder's
    cuda = {"cpu": "off", "cuda": "on"}.get(options.device, "auto")
    return Job(id=_job_id(index, kata), kata=kata.name, dir=str(d), file=str(d / kata.filename),
               cases=str(plan.cases_file), result=str(d / "result.pt"), log=str(d / "output.log"), seed=options.seed,
               cuda=cuda, limits=options.limits, modules=(str(modules),))


def _read_log_tail(path: str, limit: int = 2000) -> tuple[int, str]:
    return untrusted.read_tail(path, limit)  # the child may have made its log a FIFO or a link to /dev/zero


def _output_text(size: int, tail: str) -> str:
    # Control characters (ESC above all, C1 too) could move the cursor and redraw the report: show them as U+FFFD.
    tail = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "\ufffd", tail)
    if not tail:
        return ""
    if size > len(tail.encode()):
        return f"[{size} bytes printed; last {len(tail)} characters]\n{tail}"
    return tail


def _judge(plan: _Plan, outcome: Outcome, options: Options) -> KataResult:
    kata, job, limits = plan.kata, outcome.job, options.limits
    size, tail = _read_log_tail(job.log)
    base = {"seconds": outcome.seconds, "output": _output_text(size, tail)}
    if outcome.lost:
        return KataResult(kata.name, "error", message=f"the sandbox failed: {outcome.lost}", **base)
    if outcome.disk > limits.disk_cap:
        return KataResult(kata.name, "error", message=f"left {outcome.disk / 2**20:.0f} MB in its folder, more than "
                          f"the {limits.disk_cap >> 20} MB a kata may leave: filling the temporary folder would stop "
                          "the submissions graded beside it. Its files were deleted.", **base)
    if outcome.filled_disk:
        return KataResult(kata.name, "error", message=f"filled the temporary folder (it left {outcome.disk / 2**20:.0f} "
                          "MB in its folder when the disk ran out), so the submissions graded beside it could not "
                          "store their results; they were graded again. Its files were deleted.", **base)
    if outcome.code == UNWRITABLE:
        return KataResult(kata.name, "error", message="the grader could not store this kata's results: the temporary "
                          "folder is full. This is not the submission's doing (another one may have filled it); free "
                          "some space and grade it again.", **base)
    if outcome.timed_out:
        return KataResult(kata.name, "timeout", message=f"did not finish within {limits.timeout:g} s and was "
                          "stopped (an infinite loop, or far too slow); every process it started was ended.", **base)
    if outcome.signal == signal.SIGXCPU or outcome.signal == signal.SIGKILL and outcome.cpu is not None \
            and outcome.cpu >= limits.cpu_seconds:
        return KataResult(kata.name, "timeout", message=f"used {limits.cpu_seconds} s of CPU time (its threads "
                          "together) and was stopped: the timeout limits CPU time too, so that one submission cannot "
                          "slow down the others.", **base)
    if outcome.signal is not None:
        try:
            name = signal.Signals(outcome.signal).name
        except ValueError:
            name = str(outcome.signal)
        why = " (killed: likely out of memory)" if outcome.signal == signal.SIGKILL else \
            " (segmentation fault)" if outcome.signal == signal.SIGSEGV else ""
        return KataResult(kata.name, "error", message=f"the submission's process crashed with {name}{why}.", **base)
    try:
        result = untrusted.load_result(job.result, limits.file_cap, plan.max_elements)
        if not isinstance(result, dict):
            raise untrusted.Untrusted(f"they are a {type(result).__name__}, not a record")
    except FileNotFoundError:
        return KataResult(kata.name, "error", message=f"the submission's process exited (code {outcome.code}) without "
                          "reporting results: sys.exit, os._exit or a crash inside the submission.", **base)
    except untrusted.Untrusted as exc:  # a FIFO, a link, too large, too deep, tensors larger than the kata's
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({exc}).", **base)
    except Exception as exc:  # weights_only refuses anything but plain tensors and data (tensor subclasses included)
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it contains a {found.group(1)}, which the grader does not load (return plain torch.Tensor " \
            "values, not a subclass)" if found else f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        return KataResult(kata.name, "error", message=f"the submission's results are not plain tensors and data: {what}.",
                          **base)
    try:  # everything in the file is the child's say-so: a malformed entry is an error, never a crash here
        out = result.get("output")
        if isinstance(out, dict) and isinstance(out.get("tail"), str) and out["tail"]:
            printed = out.get("bytes")  # a count the submission can set (sys.stdout.written = inf): checked
            base["output"] = _output_text(printed if type(printed) is int and printed >= 0 else 0, out["tail"][-4096:])
        fatal = result.get("fatal")
        if fatal:
            if not isinstance(fatal, dict) or not isinstance(fatal.get("message", ""), str):
                raise TypeError("'fatal' is not a record with a message")
            return _fatal(kata, job, fatal, base)
        problem = _malformed(plan.spec, plan.cases, result)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:  # the child writes this file, so it is checked before any check reads it
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({problem}).",
                          **base)
    try:
        checks = plan.spec.judge(plan.reference, plan.cases, result, kata, plan.expected)
    except Exception as exc:  # malformed results from the child are the submission's doing
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged "
                          f"({type(exc).__name__}: {exc}).", **base)
    verdict = KataResult.from_checks(kata.name, checks, **base)
    if _memory_note(checks, options):  # e.g. a custom backward that allocates without bound
        verdict.status, verdict.message = "error", (f"ran out of memory: it needs more than the memory limit of "
                                                    f"{options.limits.memory_mb} MB (--memory-mb); see the checks.")
    return verdict


def _malformed(spec: Any, cases: list[Any], result: dict[str, Any]) -> str:
    """Why a function kata's report is not what an honest child writes ("" when it is): a forged
    report with no outputs would otherwise pass the checks that compare outputs pairwise."""
    if not isinstance(spec, FunctionSpec):
        return ""
    runs = result.get("runs")
    if not isinstance(runs, list) or len(runs) != len(cases):
        return f"{len(runs) if isinstance(runs, list) else 'no'} runs reported for {len(cases)} cases"
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            return f"run {i} is not a record"
        outputs, types = run.get("outputs") or (), run.get("types") or ()
        if not run.get("error") and not len(outputs) == len(types) == len(spec.outputs):
            return f"run {i} reports {len(outputs)} outputs; the kata has {len(spec.outputs)}"
    return ""


def _fatal(kata: Kata, job: Job, fatal: dict[str, Any], base: dict[str, Any]) -> KataResult:
    kind = fatal.get("kind")
    if kind == "not_started":
        return KataResult(kata.name, "not_started", message=f"{kata.filename} still raises NotImplementedError. "
                          f"`kata show {kata.name}` states the problem.", **base)
    if kind == "missing":
        names = " and ".join(f"'{e}'" for e in kata.entry)
        return KataResult(kata.name, "error", message=f"{kata.filename} {fatal['message']}; the kata needs {names}.", **base)
    line = f":{fatal['line']}" if type(fatal.get("line")) is int else ""
    text = f"\n    {fatal['text'][:500]}" if isinstance(fatal.get("text"), str) and fatal["text"] else ""
    return KataResult(kata.name, "error", message=f"{kata.filename}{line}: {str(fatal.get('message', ''))[:2000]}{text}",
                      **base)


def _memory_note(checks: list[CheckResult], options: Options) -> bool:
    """Name the memory limit in every check that ran out of memory; True when one did."""
    hit = False
    for c in checks:
        if c.status == "error" and ("MemoryError" in c.message or "can't allocate memory" in c.message):
            c.message += f" (the memory limit is {options.limits.memory_mb} MB on top of torch itself)"
            hit = True
    return hit


def cuda_available() -> bool:
    return torch.cuda.is_available()
