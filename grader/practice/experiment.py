"""Experiments: replay a result from the seeds with the candidate's own code (or the references).

An experiment is a record (`Experiment`, in grader/practice/experiments/), not code: its arms (which kata's function is
trained, with which keyword arguments per run and which settings), the series each run
records, how a run is labelled, tabled and drawn, and what the seeds say the curves show
(its findings, computed from the runs as data). This module is the mechanism that runs any
record: it sends one sandbox job per arm, reads the child's curves back, checks them, and
hands the runs to the record's findings. It names no loss and no kata.

The candidate's code runs in the sandbox's child, like a kata's: an experiment job is a kata
job whose child trains (`TrainingProbe`) instead of probing cases, and it ends the ways a
kata job ends, with the same messages (grader.core.outcomes). This process only reads plain
lists of floats back (grader.sandbox.plain, as untrusted data) and draws conclusions from them.

Adding an experiment
--------------------
Write one module in grader/practice/experiments/ (its name is free; the package finds it)
that defines `EXPERIMENT = Experiment(...)`, with the types of
grader/practice/experiments/record.py (dpo_vs_ipo.py there is a complete example):

- `arms`: one `Arm(kata, function, label, runs=({"beta": 0.1}, ...), settings={"lr": ...})`
  per function trained. Each dict in `runs` is one training run's keyword arguments for the
  function; `settings` are the arm's own numbers for the training function (shown in the
  report's first line).
- `train(fn, kwargs, settings, steps, seed) -> {series name: [one float per step]}`: the
  child side. It runs in the sandbox with the candidate's `fn`; it imports torch and its
  helpers inside its body (this module and the records never import torch) and may raise
  whatever the candidate's code raises. The zygote imports every kata's spec before it
  forks an experiment's child, so helpers under grader/catalog/ are loaded before a child starts.
- `series`: the names `train` returns; the grader refuses a run whose series are missing,
  not numbers, or not one per step (`points` names the series that have a fixed number of
  points instead, drawn by a `Curve` with its own `x` and `xs`). `check(run) -> str` adds the record's own sanity rule
  (e.g. log-probabilities are never positive): a non-empty string marks the run malformed.
- `findings(runs) -> [Finding(text, holds)]`: what the seeds say, checked on the runs that
  trained (`run.error == ""`); thresholds come from grader/core/tolerances.py.
- `label`, `columns` and `curves`: how the renderer shows a run (one row per run, one
  sparkline per run and curve), so no renderer code is written for a new experiment.

Then `kata experiment NAME` runs it; tests go in tests/test_experiment.py (or a file of their
own) and the README's practice section gets a line. Importing this module does not import torch.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import registry
from grader.core import outcomes, workspace
from grader.practice.experiments import EXPERIMENTS
from grader.practice.experiments.record import Arm, Column, Curve, Experiment, Finding, Run  # noqa: F401


@dataclass
class ExperimentResult:
    experiment: Experiment
    source: str  # "reference solutions" or the workspace
    seed: int
    steps: int
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # arms that could not run, and why
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def title(self) -> str:
        return self.experiment.title

    @property
    def ok(self) -> bool:
        """Every arm ran and trained without an error (whatever the curves show)."""
        return not self.problems and all(not r.error for r in self.runs)

    def runs_of(self, arm: str) -> list[Run]:
        return [r for r in self.runs if r.arm == arm]


# ------------------------------------------------------------------ child side
class TrainingProbe:
    """Stands in for a kata's spec in the sandboxed child: trains instead of probing cases.

    Returns plain lists of floats only; an exception from the submission is described, not raised.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def probe(self, module: Any, cases: list[Any], seed: int, cuda: str) -> dict[str, Any]:
        from grader.checks.function import describe_error

        p = self.params
        exp = EXPERIMENTS[p["experiment"]]
        arm = exp.arms[p["arm"]]
        fn = getattr(module, arm.function, None)
        if fn is None or not callable(fn):
            return {"fatal": {"kind": "missing", "message": f"defines no function '{arm.function}'"}}
        runs: list[dict[str, Any]] = []
        for kwargs in arm.runs:
            try:
                runs.append({"series": exp.train(fn, dict(kwargs), dict(arm.settings), p["steps"], p["seed"])})
            except NotImplementedError as exc:
                return {"fatal": {"kind": "not_started", "message": str(exc)}}
            except Exception as exc:
                runs.append({"error": describe_error(exc)})
        return {"runs": runs}


def child_spec(job: dict[str, Any]) -> TrainingProbe | None:
    """The child's spec for an experiment job (see grader.sandbox.worker.run_job); None for a kata job."""
    return TrainingProbe(job["experiment"]) if job.get("experiment") is not None else None


# ------------------------------------------------------------------ grader side
def run(name: str, ws: Path | None, steps: int, seed: int, sandbox: Any) -> ExperimentResult:
    """Run experiment `name` with the code in workspace `ws` (None: the reference solutions)."""
    from grader.core.engine import private_copy, run_guarded
    from grader.sandbox import plain
    from grader.sandbox.pool import Job, Limits

    exp = EXPERIMENTS[name]
    result = ExperimentResult(exp, "reference solutions" if ws is None else str(ws), seed, steps)
    tmp = Path(tempfile.mkdtemp(prefix="kata-experiment-"))
    try:
        cases = tmp / "cases.bin"  # an experiment job has no cases
        plain.dump([], str(cases))
        jobs, arms = [], {}
        for index, arm in enumerate(exp.arms):
            path, problem = _source(arm, ws)
            if problem:
                result.problems.append(f"{arm.label}: {problem}")
                continue
            d = tmp / str(index)
            private_copy(path, d, f"{arm.kata}.py")
            params = {"experiment": exp.name, "arm": index, "function": arm.function, "steps": steps, "seed": seed}
            limits = Limits(timeout=10.0 + exp.seconds_per_step * steps * len(arm.runs))
            jobs.append(Job(id=str(index), kata=arm.kata, dir=str(d), file=str(d / f"{arm.kata}.py"),
                            cases=str(cases), result=str(d / "result.bin"), log=str(d / "output.log"), seed=seed,
                            cuda="off", limits=limits, experiment=params))
            arms[str(index)] = arm
        own = sorted(ws.glob("*.py")) if ws is not None else []
        ended, edited, tampered = run_guarded(sandbox, jobs, len(jobs), Limits(), own, own)
        if edited:
            result.warnings.append("files the grader guards changed during the run, though the submissions could "
                                   "not write there (Landlock); left as they are: " + ", ".join(map(str, edited)))
        if tampered:
            result.warnings.append("a submission changed files it must not touch; they were restored: "
                                   + ", ".join(str(p) for p in tampered))
        for job in jobs:  # in the record's order of arms, whatever order the children ended in
            arm = arms[job.id]
            runs, problem = _read(exp, arm, ended[job.id], steps)
            if problem:
                result.problems.append(f"{arm.label}: {problem}")
            result.runs.extend(runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.findings = exp.findings([r for r in result.runs if r.trained])
    return result


def _source(arm: Arm, ws: Path | None) -> tuple[Path, str]:
    """The file to train with, or why there is none."""
    if arm.kata not in registry.KATAS:  # an arm may name a kata still being written
        return Path(), f"the {arm.kata} kata is not in this version of the grader."
    if ws is None:
        return workspace.solution_path(registry.get(arm.kata)), ""
    path = Path(ws) / f"{arm.kata}.py"
    if not path.exists():
        return path, f"{path} does not exist; `kata reset {arm.kata} --path {ws}` writes its stub."
    if workspace.is_stub(path, registry.get(arm.kata)):
        return path, f"{path} is still a stub: solve the {arm.kata} kata first, or add --reference."
    return path, ""


def _read(exp: Experiment, arm: Arm, outcome: Any, steps: int) -> tuple[list[Run], str]:
    """The child's runs, checked to be plain numbers; or how the child ended without them
    (the engine's messages, grader.core.outcomes)."""
    ending = outcomes.ended(outcome, outcome.job.limits)
    data = None
    if ending is None:
        data, ending = outcomes.load(outcome)
    if ending is None and isinstance(data, dict) and isinstance(data.get("fatal"), dict):
        ending = outcomes.fatal(registry.get(arm.kata), data["fatal"])
    if ending is not None:
        return [], ending.message
    assert data is not None
    raw = data.get("runs") if isinstance(data.get("runs"), list) else []
    runs = []
    for i, kwargs in enumerate(arm.runs):
        entry = raw[i] if i < len(raw) else None
        run = Run(arm.label, dict(kwargs))
        if not isinstance(entry, dict):
            run.error = "no results for this run"
        elif "error" in entry:
            err = entry["error"] if isinstance(entry["error"], dict) else {}
            run.error = f"{err.get('type', 'error')}: {err.get('message', '')}" + \
                (f" (at {err['where']})" if err.get("where") else "")
        else:
            run.series, run.error = _series(exp, entry.get("series"), steps)
            if not run.error and exp.check(run):
                run.series, run.error = {}, "malformed results"
        runs.append(run)
    return runs, ""


def _series(exp: Experiment, raw: Any, steps: int) -> tuple[dict[str, list[float]], str]:
    """Every series the record names, one float per step; ({}, "malformed results") otherwise."""
    try:
        series = {name: [float(x) for x in raw[name]] for name in exp.series}
    except (KeyError, TypeError, ValueError):
        return {}, "malformed results"
    if any(len(xs) != exp.points.get(name, steps) for name, xs in series.items()):
        return {}, "malformed results"
    return series, ""


# ------------------------------------------------------------------ pictures
def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def settings_said(exp: Any) -> str:
    """", lr DPO 2, IPO 0.1": every arm's settings, as the table's title and the PNG's say them."""
    keys = dict.fromkeys(k for arm in exp.arms for k in arm.settings)
    return "".join(f", {k} " + ", ".join(f"{a.label} {a.settings[k]:g}" for a in exp.arms if k in a.settings)
                   for k in keys)


def figure(result: ExperimentResult) -> Any:
    """One panel per curve of the record, a line per trained run (dashed for arms after the
    first); each run's mark dotted and named in the legend; a log axis labelled at every
    decade, so end values can be read; the arms' settings in the title. Needs matplotlib; the
    caller closes the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    exp = result.experiment
    curves = exp.curves
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4.4), constrained_layout=True, squeeze=False)
    first_arm = exp.arms[0].label if exp.arms else ""
    for ax, curve in zip(axes[0], curves):
        shown = []
        for r in result.runs:
            if not r.trained or not curve.shows(r):
                continue
            values = curve.values(r)
            shown += [v for v in values if math.isfinite(v) and v > 0]
            xs = [list(curve.xs)] if curve.xs else []
            line, = ax.plot(*xs, values, "-" if r.arm == first_arm else "--", label=exp.label(r))
            mark = curve.mark(r)
            if mark is not None and math.isfinite(mark):
                ax.axhline(mark, color=line.get_color(), linestyle=":", linewidth=1, label=curve.mark_label(r) or None)
        if curve.log:
            ax.set_yscale("log")
            if shown:  # whole decades, each labelled
                ax.set_ylim(10 ** math.floor(math.log10(min(shown))), 10 ** math.ceil(math.log10(max(shown))))
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=30))
            ax.yaxis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=True))
            ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0), numticks=30))
            ax.grid(which="minor", alpha=0.15)
        ax.set(title=curve.title, xlabel=curve.x, ylabel=curve.ylabel or curve.title)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{exp.title} ({result.source}, seed {result.seed}, {result.steps} steps{settings_said(exp)})")
    return fig


def write_png(result: ExperimentResult, path: Path) -> None:
    """The curves of `figure` as a PNG. Needs matplotlib."""
    import matplotlib.pyplot as plt

    fig = figure(result)
    fig.savefig(path, dpi=120)
    plt.close(fig)
