"""Grading: from kata names and workspaces to one `Report` per workspace. Knows nothing about terminals.

Grading one workspace is the one-workspace case of grading a cohort (`grade_many`).
Order of work, chosen for speed and for trust:
1. the sandbox's zygote is started first (by the caller or here), so its `import torch`
   overlaps the grader's own;
2. sources are pre-checked (syntax, reference imports) without running;
3. cases are generated from the seed once per kata and written for the children; files are
   snapshotted and one job per (workspace, kata) is handed out;
4. the reference's runs on the cases are computed once per kata, while the zygote finishes
   starting and the first children run (the first backward of these runs imports sympy into
   the grader: ~0.4 s);
5. each child's results (plain data and tensors, grader.sandbox.plain) are read and judged here,
   as soon as it exits.
"""
from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grader import registry
from grader.core import outcomes, runfolders, workspace
from grader.core.faults import GraderFault, MalformedResults, stage
from grader.core.sources import Source, private_copy, read_source as _source, shared_modules as _shared_modules  # noqa: F401
from grader.core.files import Snapshot, python_files
from grader.core.kata import Kata
from grader.core.results import CheckResult, KataResult, Report, not_run_after_contract
from grader.sandbox import plain, untrusted
from grader.sandbox.pool import Job, Limits, Outcome, Sandbox
from grader.sandbox.worker import UNWRITABLE, WORKER_FAILED_MARK


@dataclass
class Options:
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    device: str = "auto"  # auto | cpu | cuda
    parallel: int = 0  # children at once; 0: one per core

    def __post_init__(self) -> None:
        """Raises ValueError for a seed, timeout or memory limit the run could not honour."""
        from grader.core import tolerances as tol

        problem = (tol.out_of_range("seed", self.seed, tol.SEED_RANGE) if type(self.seed) is int else
                   f"seed must be an integer, got {self.seed!r}") or \
            tol.out_of_range("timeout", self.limits.timeout, tol.TIMEOUT_RANGE) or \
            tol.out_of_range("memory_mb", self.limits.memory_mb, tol.MEMORY_MB_RANGE)
        if problem:
            raise ValueError(problem)


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
        self.cases_file = tmp / f"{kata.name}.cases.bin"  # read by every child of this kata (grader.sandbox.plain)
        self.problem = ""  # why this kata cannot be run at all (the grader's own write failed)
        try:
            plain.dump([c.to_dict() for c in self.cases], str(self.cases_file))
            self.cases_file.chmod(0o444)  # children only read it
        except OSError as exc:
            self.problem = f"the grader could not write this kata's cases to {tmp} ({exc}). Nothing was run."
        with stage("loading the reference solution"):
            self.reference = importlib.import_module(kata.solution)
        self.expected: list[Any] | None = None  # the reference's runs on the cases, once a submission needs them
        # No honest result holds a tensor much larger than the kata's largest input (an output
        # broadcast by mistake is (B, B) where (B,) was due): anything larger is refused unread.
        sizes = [v.numel() for c in self.cases for d in (c.inputs, c.options) for v in d.values()
                 if isinstance(v, torch.Tensor)]
        self.max_elements = max(1 << 16, 64 * max(sizes, default=0))

    def prepare(self) -> None:
        if self.expected is None:
            with stage("the reference run"):
                self.expected = self.spec.expected(self.reference, self.cases)


def _grade(names: list[str], workspaces: list[Path | None], options: Options, sandbox: Sandbox) -> list[Report]:
    katas = [registry.get(n) for n in dict.fromkeys(names)]  # a kata named twice is graded once
    sandbox.preload([k.name for k in katas])  # the zygote imports their specs while we prepare
    sources = [[_source(k, ws, options.limits.source_cap) for k in katas] for ws in workspaces]  # [workspace][kata]
    own = [s.path for ws, row in zip(workspaces, sources) if ws is not None for s in row if s.problem is None]
    watched = [s.path for row in sources for s in row if s.problem is None]
    runfolders.sweep_runs()  # what a killed run left behind
    tmp = runfolders.run_folder()
    try:
        plans: dict[str, _Plan] = {}
        faults: dict[str, GraderFault] = {}  # katas the grader itself cannot grade: nobody is charged
        for k in katas:
            try:
                plans[k.name] = _Plan(k, options, tmp)
            except GraderFault as fault:
                faults[k.name] = fault
        jobs = []
        for i, (ws, row) in enumerate(zip(workspaces, sources)):
            modules = _shared_modules(ws, tmp / str(i) / "_modules", row, options.limits.source_cap)
            for s in row:
                if s.problem is None and s.kata.name in faults:
                    s.problem = KataResult.from_fault(s.kata.name, faults[s.kata.name])
                if s.problem is None and plans[s.kata.name].problem:
                    s.problem = KataResult(s.kata.name, "error", message=plans[s.kata.name].problem)
                if s.problem is None:
                    try:
                        jobs.append(_job(i, s, plans[s.kata.name], tmp, options, modules))
                    except OSError as exc:  # the grader's own write (a full temporary folder): this kata only
                        s.problem = KataResult(s.kata.name, "error", message=f"the grader could not prepare this "
                                               f"kata in {tmp}: {exc.strerror or exc}. Nothing was run.")

        def prepare() -> None:  # while the zygote starts and the first children run, not before
            for name in dict.fromkeys(j.kata for j in jobs):
                try:
                    plans[name].prepare()
                except GraderFault as fault:
                    faults[name] = fault

        parallel = options.parallel or os.cpu_count() or 1
        early = _EarlyJudge({j.id: plans[j.kata] for j in jobs}, faults, options)
        ended, edited, tampered = run_guarded(sandbox, jobs, parallel, options.limits, watched, own, early, prepare)
        ended, edited2, tampered2 = _retry_unwritable(sandbox, ended, parallel, options.limits, watched, own)
        edited, tampered = edited + edited2, tampered + tampered2
        reports = []
        for i, (ws, row) in enumerate(zip(workspaces, sources)):
            results = [s.problem if s.problem is not None else
                       KataResult.from_fault(s.kata.name, faults[s.kata.name]) if s.kata.name in faults else
                       early.result(ended[_job_id(i, s.kata)]) or
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
        runfolders.remove_tree(tmp)


class _EarlyJudge:
    """Judges a child's results as soon as it has exited, while the others still run (a cohort's
    judging then overlaps its children instead of following them). A verdict is kept only while
    nothing that decides it changed: `result` gives it when the outcome is the one judged (not a
    rerun) and the child's folder holds what it held then; otherwise the kata is judged again."""

    def __init__(self, plans: dict[str, _Plan], faults: dict[str, GraderFault], options: Options) -> None:
        self.plans, self.faults, self.options = plans, faults, options  # faults: katas the grader cannot grade
        self.judged: dict[str, tuple[Outcome, int, KataResult]] = {}

    def __call__(self, outcome: Outcome) -> None:
        plan = self.plans.get(outcome.job.id)
        if plan is None or plan.kata.name in self.faults or outcome.code != 0 or outcome.signal is not None:
            return
        try:
            disk = runfolders.disk_usage(Path(outcome.job.dir))
            if disk <= self.options.limits.disk_cap:
                self.judged[outcome.job.id] = (outcome, disk, _judge(plan, outcome, self.options))
        except Exception:  # noqa: BLE001  judged again after the run, where an error is reported as it should be
            pass

    def result(self, outcome: Outcome) -> KataResult | None:
        judged = self.judged.get(outcome.job.id)
        if judged is None or judged[0] is not outcome or outcome.filled_disk or outcome.disk != judged[1]:
            return None
        return judged[2]


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
    # Exit code UNWRITABLE is the child's say-so (a submission can os._exit with it): a neighbour
    # is blamed for filling the disk only when the grader sees the disk full itself.
    if full and biggest is not None and biggest.disk >= HOG_MIN and runfolders.nearly_full(Path(biggest.job.dir)):
        biggest.filled_disk = True
    for o in outcomes.values():
        if o.disk > limits.disk_cap or o.filled_disk:
            runfolders.empty_folder(Path(o.job.dir), keep=Path(o.job.log).name)  # its log stays for the report
    again = [o.job for o in full if not o.filled_disk]
    if not again:
        return outcomes, [], []
    more, edited, tampered = run_guarded(sandbox, again, parallel, limits, watched, own)
    for o in more.values():
        o.room_left = o.code == UNWRITABLE and not runfolders.nearly_full(Path(o.job.dir))
    return {**outcomes, **more}, edited, tampered


HOG_MIN = 16 << 20  # an honest child leaves a few kB to a few MB of results; the disk filler leaves more


def run_guarded(sandbox: Sandbox, jobs: list[Job], parallel: int, limits: Limits, watched: list[Path],
                own: list[Path], on_exit: Any = None,
                meanwhile: Any = None) -> tuple[dict[str, Outcome], list[Path], list[Path]]:
    """Run `jobs` with the grader's files, the reference solutions and `watched` guarded.

    Returns the outcomes by job id, the guarded files that changed although the children could
    not write them (Landlock: someone's edit, reported and left alone), and the files a child
    may have changed, which were restored (the other version kept in a backup; `own`, the
    user's files, never overwritten). `on_exit`, `meanwhile`: see Sandbox.run.
    """
    if not jobs:
        return {}, [], []
    guarded = python_files(workspace.PACKAGE_ROOT / "grader") + python_files(workspace.SOLUTIONS) + watched
    # Taken just before the children run, compared as soon as they have ended (after Ctrl-C too:
    # Sandbox.run then ends them before it lets the interrupt through).
    snapshot = Snapshot.take(guarded, roots=(workspace.PACKAGE_ROOT / "grader", workspace.SOLUTIONS))
    try:
        outcomes = {o.job.id: o for o in sandbox.run(jobs, parallel, on_exit, meanwhile)}
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
               cases=str(plan.cases_file), result=str(d / "result.bin"), log=str(d / "output.log"), seed=options.seed,
               cuda=cuda, limits=options.limits, modules=(str(modules),))


def _read_log_tail(path: str, limit: int = 2000) -> tuple[int, str]:
    return untrusted.read_tail(path, limit)  # the child may have made its log a FIFO or a link to /dev/zero


def _output_text(size: int, tail: str) -> str:
    # The worker's own line when it fails is the grader's, quoted in the kata's message: not the submission's output.
    if WORKER_FAILED_MARK in tail:
        kept = "\n".join(line for line in tail.split("\n") if not line.startswith(WORKER_FAILED_MARK)).strip("\n")
        size, tail = max(0, size - len(tail.encode()) + len(kept.encode())), kept
    # Control characters (ESC above all, C1 too) could move the cursor and redraw the report: show them as U+FFFD.
    tail = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "\ufffd", tail)
    if not tail:
        return ""
    if size > len(tail.encode()):
        return f"[{size} bytes printed; last {len(tail)} characters]\n{tail}"
    return tail


def _judge(plan: _Plan, outcome: Outcome, options: Options) -> KataResult:
    kata, job = plan.kata, outcome.job
    size, tail = _read_log_tail(job.log)
    base = {"seconds": outcome.seconds, "output": _output_text(size, tail)}
    ending = outcomes.ended(outcome, options.limits)
    if ending is None:
        result, ending = outcomes.load(outcome, plan.max_elements)
    if ending is not None:
        return KataResult(kata.name, ending.status, message=ending.message, **base)
    assert result is not None
    try:  # everything in the file is the child's say-so: a malformed entry is an error, never a crash here
        out = result.get("output")
        if isinstance(out, dict) and isinstance(out.get("tail"), str) and out["tail"]:
            printed = out.get("bytes")  # a count the submission can set (sys.stdout.written = inf): checked
            base["output"] = _output_text(printed if type(printed) is int and printed >= 0 else 0, out["tail"][-4096:])
        fatal = result.get("fatal")
        if fatal:
            if not isinstance(fatal, dict) or not isinstance(fatal.get("message", ""), str):
                raise TypeError("'fatal' is not a record with a message")
            ending = outcomes.fatal(kata, fatal)
            return KataResult(kata.name, ending.status, message=ending.message, traceback=list(ending.traceback),
                              **base)
        problem = plan.spec.malformed(plan.cases, result)  # the spec knows what its child reports
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:  # the child writes this file, so it is checked before any check reads it
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({problem}).",
                          **base)
    try:
        plan.prepare()  # done while the children ran (Sandbox.run's `meanwhile`): then a no-op
        with stage("judging"):  # a check that raises is the grader's bug, unless it refused the child's data
            checks = plan.spec.judge(plan.reference, plan.cases, result, kata, plan.expected)
    except MalformedResults as exc:
        return KataResult(kata.name, "error", message=f"the submission's results could not be judged ({exc}).", **base)
    except GraderFault as fault:
        return KataResult.from_fault(kata.name, fault, **base)
    independent = tuple(getattr(plan.spec, "contract_independent", ()))
    verdict = KataResult.from_checks(kata.name, not_run_after_contract(checks, independent), **base)
    if _memory_note(checks, options):  # e.g. a custom backward that allocates without bound
        verdict.status, verdict.message = "error", (f"ran out of memory: it needs more than the memory limit of "
                                                    f"{options.limits.memory_mb} MB (--memory-mb); see the checks.")
    return verdict


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
