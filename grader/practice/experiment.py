"""Experiments: replay a result from the seeds with the candidate's own losses (or the references).

`dpo-vs-ipo` is the DPO/IPO notebook's experiment (Azar et al. 2023, section 4): train the toy
policy of `grader.catalog.toy` with DPO for β in {0.1, 0.5} and with IPO for β in
{0.1, 0.5, 1.0}. DPO drives π(y_l) towards 0 whatever β is (the Bradley-Terry objective has
no finite optimum when the chosen answer always wins); IPO regresses h onto 1/(2β), so h
stops there and β decides how far π(y_l) falls.

The candidate's code runs in the sandbox's child, like a kata's: an experiment job is a
kata job whose child trains (`TrainingProbe`) instead of probing cases. This process only
reads plain lists of floats back (`weights_only=True`) and draws conclusions from them.
Importing this module does not import torch.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import registry
from grader.core import workspace


@dataclass(frozen=True)
class Arm:
    """One loss of an experiment: the kata whose function is trained, and with which β."""

    kata: str  # its file is NAME.py in the workspace (or solutions/)
    function: str
    label: str
    betas: tuple[float, ...]
    lr: float  # plain gradient descent on the toy's logits
    has_target: bool = False  # IPO: h has the finite target 1/(2β)


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    arms: tuple[Arm, ...]


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("dpo-vs-ipo", "DPO vs IPO on the toy preference problem", (
        # lr 2.0 is the dpo kata's behaviour run. IPO's loss is quadratic in h with curvature
        # about 1 at the start, so lr ≥ 2 oscillates (the seeds' "IPO trains off with a large
        # lr"); 0.1 converges smoothly in a few dozen steps.
        Arm("dpo", "dpo_loss", "DPO", (0.1, 0.5), lr=2.0),
        Arm("ipo", "ipo_loss", "IPO", (0.1, 0.5, 1.0), lr=0.1, has_target=True),
    )),
)}


# ------------------------------------------------------------------ results
@dataclass
class Run:
    """One training run: a loss and a β, the curves recorded at every step."""

    loss: str
    beta: float
    logp_rejected: list[float] = field(default_factory=list)  # mean per-token log π(y_l)
    logp_chosen: list[float] = field(default_factory=list)
    h: list[float] = field(default_factory=list)  # per-token mean log-ratio difference
    target: float | None = None  # IPO's 1/(2β)
    error: str = ""  # the candidate's function failed during training

    @property
    def pi_rejected(self) -> list[float]:
        return [math.exp(x) for x in self.logp_rejected]

    @property
    def final_pi_rejected(self) -> float:
        return math.exp(self.logp_rejected[-1]) if self.logp_rejected else math.nan

    @property
    def final_h(self) -> float:
        return self.h[-1] if self.h else math.nan

    @property
    def still_falling(self) -> bool:
        """log π(y_l) fell by more than 0.02 over the last third: the behaviour kata's test."""
        lp = self.logp_rejected
        return len(lp) >= 3 and all(map(math.isfinite, lp)) and lp[-1] - lp[2 * len(lp) // 3] < -0.02

    @property
    def at_target(self) -> bool:
        return self.target is not None and math.isfinite(self.final_h) and \
            abs(self.final_h - self.target) <= 0.01 * self.target


@dataclass
class Finding:
    """A statement the seeds make, and whether these runs bear it out."""

    text: str
    holds: bool


@dataclass
class ExperimentResult:
    name: str
    title: str
    source: str  # "reference solutions" or the workspace
    seed: int
    steps: int
    lrs: dict[str, float]
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # arms that could not run, and why
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every arm ran and trained without an error (whatever the curves show)."""
        return not self.problems and all(not r.error for r in self.runs)

    def runs_of(self, loss: str) -> list[Run]:
        return [r for r in self.runs if r.loss == loss]


def findings(runs: list[Run]) -> list[Finding]:
    """What the seeds say the curves show, checked on these runs."""
    out = []
    dpo = [r for r in runs if r.loss == "DPO" and not r.error]
    ipo = [r for r in runs if r.loss == "IPO" and not r.error]
    if dpo:
        falls = ", ".join(f"β={r.beta:g}: {r.pi_rejected[0]:.4f} → {r.final_pi_rejected:.5f}" for r in dpo)
        out.append(Finding(f"DPO: π(y_l) is still falling at the last step for every β ({falls}); "
                           "β sets the pace, not the end point", all(r.still_falling for r in dpo)))
    if ipo:
        hs = ", ".join(f"β={r.beta:g}: h={r.final_h:.3f} (1/(2β)={r.target:g})" for r in ipo)
        out.append(Finding(f"IPO: h ends at its target 1/(2β) for every β ({hs})", all(r.at_target for r in ipo)))
        ordered = sorted(ipo, key=lambda r: r.beta)
        pis = [r.final_pi_rejected for r in ordered]
        out.append(Finding("IPO: π(y_l) stops falling, and a larger β keeps it closer to the reference ("
                           + ", ".join(f"β={r.beta:g}: {p:.4f}" for r, p in zip(ordered, pis)) + ")",
                           all(not r.still_falling for r in ipo) and all(a < b for a, b in zip(pis, pis[1:]))))
    return out


# ------------------------------------------------------------------ child side
class TrainingProbe:
    """Stands in for a kata's spec in the sandboxed child: trains instead of probing cases.

    Returns plain lists of floats only; an exception from the submission is described, not raised.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def probe(self, module: Any, cases: list[Any], seed: int, cuda: str) -> dict[str, Any]:
        from grader.catalog.toy import train_pair
        from grader.checks.function import describe_error

        p = self.params
        fn = getattr(module, p["function"], None)
        if fn is None or not callable(fn):
            return {"fatal": {"kind": "missing", "message": f"defines no function '{p['function']}'"}}

        def loss_of(beta: float) -> Any:
            def loss(*args: Any) -> Any:
                out = fn(*args, beta=beta)
                return out[0] if isinstance(out, (tuple, list)) else out
            return loss

        runs: dict[str, Any] = {}
        for beta in p["betas"]:
            try:
                runs[str(beta)] = train_pair(loss_of(beta), p["steps"], p["lr"], p["seed"]).to_dict()
            except NotImplementedError as exc:
                return {"fatal": {"kind": "not_started", "message": str(exc)}}
            except Exception as exc:
                runs[str(beta)] = {"error": describe_error(exc)}
        return {"runs": runs}


def child_spec(job: dict[str, Any]) -> TrainingProbe | None:
    """The child's spec for an experiment job (see grader.sandbox.worker.run_job); None for a kata job."""
    return TrainingProbe(job["experiment"]) if job.get("experiment") is not None else None


# ------------------------------------------------------------------ grader side
def run(name: str, ws: Path | None, steps: int, seed: int, sandbox: Any) -> ExperimentResult:
    """Run experiment `name` with the losses in workspace `ws` (None: the reference solutions)."""
    import torch

    from grader.core.engine import private_copy, run_guarded
    from grader.sandbox.pool import Job, Limits

    exp = EXPERIMENTS[name]
    result = ExperimentResult(exp.name, exp.title, "reference solutions" if ws is None else str(ws), seed, steps,
                              {a.label: a.lr for a in exp.arms})
    tmp = Path(tempfile.mkdtemp(prefix="kata-experiment-"))
    try:
        cases = tmp / "cases.pt"  # an experiment job has no cases
        torch.save([], cases)
        jobs, arms = [], {}
        for arm in exp.arms:
            path, problem = _source(arm, ws)
            if problem:
                result.problems.append(f"{arm.label}: {problem}")
                continue
            d = tmp / arm.kata
            private_copy(path, d, f"{arm.kata}.py")
            params = {"function": arm.function, "betas": list(arm.betas), "steps": steps, "lr": arm.lr, "seed": seed}
            limits = Limits(timeout=10.0 + 0.01 * steps * len(arm.betas))
            jobs.append(Job(id=arm.kata, kata=arm.kata, dir=str(d), file=str(d / f"{arm.kata}.py"), cases=str(cases),
                            result=str(d / "result.pt"), log=str(d / "output.log"), seed=seed, cuda="off",
                            limits=limits, experiment=params))
            arms[arm.kata] = arm
        own = sorted(ws.glob("*.py")) if ws is not None else []
        outcomes, edited, tampered = run_guarded(sandbox, jobs, len(jobs), Limits(), own, own)
        if edited:
            result.warnings.append("files the grader guards changed during the run, though the submissions could "
                                   "not write there (Landlock); left as they are: " + ", ".join(map(str, edited)))
        if tampered:
            result.warnings.append("a submission changed files it must not touch; they were restored: "
                                   + ", ".join(str(p) for p in tampered))
        for outcome in outcomes.values():
            arm = arms[outcome.job.kata]
            runs, problem = _read(arm, outcome, steps)
            if problem:
                result.problems.append(f"{arm.label}: {problem}")
            result.runs.extend(runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.findings = findings(result.runs)
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


def _read(arm: Arm, outcome: Any, steps: int) -> tuple[list[Run], str]:
    """The child's runs, checked to be plain numbers; or what went wrong."""
    import torch

    if outcome.lost:
        return [], f"the sandbox failed: {outcome.lost}"
    if outcome.timed_out:
        return [], f"training did not finish within {outcome.job.limits.timeout:g} s and was stopped."
    if outcome.signal is not None:
        return [], f"the process training {arm.kata}.py crashed (signal {outcome.signal})."
    try:
        data = torch.load(outcome.job.result, weights_only=True)
    except Exception as exc:
        return [], f"{arm.kata}.py's process exited (code {outcome.code}) without results ({type(exc).__name__})."
    if not isinstance(data, dict):
        return [], f"{arm.kata}.py's process wrote unreadable results."
    fatal = data.get("fatal")
    if isinstance(fatal, dict):
        if fatal.get("kind") == "not_started":
            return [], f"{arm.kata}.py still raises NotImplementedError: solve the {arm.kata} kata first, or add --reference."
        line = f":{fatal['line']}" if fatal.get("line") else ""
        return [], f"{arm.kata}.py{line}: {fatal.get('message', 'failed')}"
    runs = []
    raw = data.get("runs") if isinstance(data.get("runs"), dict) else {}
    for beta in arm.betas:
        entry = raw.get(str(beta))
        run = Run(arm.label, beta, target=1 / (2 * beta) if arm.has_target else None)
        if not isinstance(entry, dict):
            run.error = "no results for this β"
        elif "error" in entry:
            err = entry["error"] if isinstance(entry["error"], dict) else {}
            run.error = f"{err.get('type', 'error')}: {err.get('message', '')}" + \
                (f" (at {err['where']})" if err.get("where") else "")
        else:
            try:
                run.logp_rejected, run.logp_chosen, run.h = (
                    [float(x) for x in entry[k]] for k in ("logp_rejected", "logp_chosen", "h_mean"))
            except (KeyError, TypeError, ValueError):
                run.error = "malformed results"
            else:  # one number per step, and log-probabilities are never positive
                if any(len(xs) != steps for xs in (run.logp_rejected, run.logp_chosen, run.h)) or \
                        any(x > 0 for x in run.logp_rejected + run.logp_chosen):
                    run.logp_rejected, run.logp_chosen, run.h = [], [], []
                    run.error = "malformed results"
        runs.append(run)
    return runs, ""


# ------------------------------------------------------------------ pictures
def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def figure(result: ExperimentResult) -> Any:
    """Two panels: π(y_l) on a log scale (a label at every decade, so the end values can be read),
    and h with IPO's targets 1/(2β) dotted and named in the legend; the learning rates in the
    title. Needs matplotlib; the caller closes the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    for r in result.runs:
        if r.error or not r.h:
            continue
        style = "-" if r.loss == "DPO" else "--"
        line, = left.plot(r.pi_rejected, style, label=f"{r.loss} β={r.beta:g}")
        right.plot(r.h, style, color=line.get_color(), label=f"{r.loss} β={r.beta:g}")
        if r.target is not None:
            right.axhline(r.target, color=line.get_color(), linestyle=":", linewidth=1,
                          label=f"1/(2β) = {r.target:g} (β={r.beta:g})")
    left.set_yscale("log")
    shown = [p for r in result.runs if not r.error and r.h for p in r.pi_rejected if p > 0]
    if shown:  # whole decades, each labelled: DPO's end value reads off the axis
        left.set_ylim(10 ** math.floor(math.log10(min(shown))), 10 ** math.ceil(math.log10(max(shown))))
    left.yaxis.set_major_locator(LogLocator(base=10, numticks=30))
    left.yaxis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=True))
    left.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0), numticks=30))
    left.grid(which="minor", alpha=0.15)
    left.set(title="π(y_l), per-token geometric mean", xlabel="step", ylabel="π(y_l) (log scale)")
    right.set(title="h = log-ratio(y_w) − log-ratio(y_l), per token", xlabel="step", ylabel="h (nats per token)")
    for ax in (left, right):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    lrs = ", ".join(f"{k} {v:g}" for k, v in result.lrs.items())
    fig.suptitle(f"{result.title} ({result.source}, seed {result.seed}, {result.steps} steps, lr {lrs})")
    return fig


def write_png(result: ExperimentResult, path: Path) -> None:
    """The curves of `figure` as a PNG. Needs matplotlib."""
    import matplotlib.pyplot as plt

    fig = figure(result)
    fig.savefig(path, dpi=120)
    plt.close(fig)
