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

import ast
import importlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grader import registry
from grader.core import outcomes, workspace
from grader.core.faults import GraderFault, MalformedResults, stage
from grader.core.files import Snapshot, python_files
from grader.core.kata import Kata
from grader.core.results import CheckResult, KataResult, Report
from grader.sandbox.pool import Job, Limits, Outcome, Sandbox
from grader.checks.function import FunctionSpec


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
        """Raises GraderFault: every step here is the grader's own code."""
        self.kata = kata
        with stage("loading the kata's spec"):
            self.spec = importlib.import_module(kata.spec).SPEC
        with stage("case generation"):
            self.cases = self.spec.make_cases(options.seed)
            self.cases_file = tmp / f"{kata.name}.cases.pt"  # read by every child of this kata
            torch.save([c.to_dict() for c in self.cases], self.cases_file)
            self.cases_file.chmod(0o444)  # children only read it
        with stage("loading the reference solution"):
            self.reference = importlib.import_module(kata.solution)
        self.expected: list[Any] | None = None  # the reference's runs on the cases, once a submission needs them

    def prepare(self) -> None:
        if self.expected is None:
            with stage("the reference run"):
                self.expected = self.spec.expected(self.reference, self.cases)


def _grade(names: list[str], workspaces: list[Path | None], options: Options, sandbox: Sandbox) -> list[Report]:
    katas = [registry.get(n) for n in dict.fromkeys(names)]  # a kata named twice is graded once
    sources = [[_source(k, ws) for k in katas] for ws in workspaces]  # [workspace][kata]
    own = [s.path for ws, row in zip(workspaces, sources) if ws is not None for s in row if s.path.exists()]
    watched = [s.path for row in sources for s in row if s.path.exists()]
    tmp = Path(tempfile.mkdtemp(prefix="kata-run-"))
    try:
        plans: dict[str, _Plan] = {}
        faults: dict[str, GraderFault] = {}  # katas the grader itself cannot grade: nobody is charged
        for k in dict.fromkeys(s.kata for row in sources for s in row if s.problem is None):
            try:  # while a fresh zygote warms up, not after the children
                plans[k.name] = _Plan(k, options, tmp)
                plans[k.name].prepare()
            except GraderFault as fault:
                faults[k.name] = fault
                plans.pop(k.name, None)
        jobs = [_job(i, s, plans[s.kata.name], tmp, options)
                for i, row in enumerate(sources) for s in row if s.problem is None and s.kata.name in plans]
        parallel = options.parallel or os.cpu_count() or 1
        ended, edited, tampered = run_guarded(sandbox, jobs, parallel, options.limits, watched, own)
        reports = []
        for i, (ws, row) in enumerate(zip(workspaces, sources)):
            results = [s.problem if s.problem is not None else
                       KataResult.from_fault(s.kata.name, faults[s.kata.name]) if s.kata.name in faults else
                       _judge(plans[s.kata.name], ended[_job_id(i, s.kata)], options) for s in row]
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
        shutil.rmtree(tmp, ignore_errors=True)


def _source(kata: Kata, ws: Path | None) -> Source:
    """Where `kata`'s code is in workspace `ws` (None: the reference solutions), checked without running it."""
    reference = ws is None
    path = workspace.solution_path(kata) if reference else workspace.kata_path(ws, kata)
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


def private_copy(path: Path, folder: Path, filename: str) -> None:
    """Copy `path`, as `filename`, and the other Python files beside it (the workspace's helpers)
    into `folder`: a child runs from there, so it can delete or rewrite its files freely."""
    folder.mkdir(parents=True)
    for p in path.parent.glob("*.py"):
        if p.is_file():  # not a dangling link (emacs's lock file .#NAME.py) or a folder
            shutil.copy2(p, folder / p.name)
    shutil.copy2(path, folder / filename)


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
        done = {o.job.id: o for o in sandbox.run(jobs, parallel)}
    finally:
        edited, tampered = (snapshot.changed(), []) if sandbox.confined(limits) else \
            ([], snapshot.restore_changed(keep=own))
    return done, edited, tampered


def _job_id(index: int, kata: Kata) -> str:
    """Unique per (workspace, kata): the sandbox keys its outcomes by it."""
    return f"{index}/{kata.name}"


def _job(index: int, source: Source, plan: _Plan, tmp: Path, options: Options) -> Job:
    """A private copy of the workspace's Python files for one child; the kata's shared cases."""
    kata = source.kata
    d = tmp / str(index) / kata.name
    private_copy(source.path, d, kata.filename)
    cuda = {"cpu": "off", "cuda": "on"}.get(options.device, "auto")
    return Job(id=_job_id(index, kata), kata=kata.name, dir=str(d), file=str(d / kata.filename),
               cases=str(plan.cases_file), result=str(d / "result.pt"), log=str(d / "output.log"), seed=options.seed,
               cuda=cuda, limits=options.limits)


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
    # Control characters (ESC above all) could move the cursor and redraw the report: show them as U+FFFD.
    tail = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "\ufffd", tail)
    if not tail:
        return ""
    if size > len(tail.encode()):
        return f"[{size} bytes printed; last {len(tail)} characters]\n{tail}"
    return tail


def _judge(plan: _Plan, outcome: Outcome, options: Options) -> KataResult:
    kata, job = plan.kata, outcome.job
    size, tail = _read_log_tail(job.log)
    base = {"seconds": outcome.seconds, "output": _output_text(size, tail)}
    ending = outcomes.ended(outcome, options.limits.timeout)
    if ending is None:
        result, ending = outcomes.load(outcome)
    if ending is not None:
        return KataResult(kata.name, ending.status, message=ending.message, **base)
    assert result is not None
    try:  # everything in the file is the child's say-so: a malformed entry is an error, never a crash here
        out = result.get("output")
        if isinstance(out, dict) and out.get("tail"):
            base["output"] = _output_text(int(out.get("bytes", 0)), str(out["tail"]))
        fatal = result.get("fatal")
        if fatal:
            return _fatal(kata, job, fatal, base)
        problem = _malformed(plan.spec, plan.cases, result)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:  # the child writes this file, so it is checked before any check reads it
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({problem}).",
                          **base)
    try:
        with stage("judging"):  # a check that raises is the grader's bug, unless it refused the child's data
            checks = plan.spec.judge(plan.reference, plan.cases, result, kata, plan.expected)
    except MalformedResults as exc:
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({exc}).", **base)
    except GraderFault as fault:
        return KataResult.from_fault(kata.name, fault, **base)
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
    ending = outcomes.fatal(kata, fatal)
    return KataResult(kata.name, ending.status, message=ending.message, **base)


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
