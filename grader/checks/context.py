"""What every check reads (`Context`), and the small helpers the checks share.

A check is a function `Context -> CheckResult`, for function and class katas alike: the
submission's side arrives as plain tensors from the sandboxed child (`ctx.runs`), the
reference side is computed in the grader (`ctx.ref_runs`) on the same cases.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

from grader.core import frames
from grader.core.kata import Mistake
from grader.core.results import CheckResult
from grader.checks.cases import Case
from grader.checks.probe import run_case

SMALL_INPUT = 24  # show a failing case's inputs when every tensor has at most this many elements


@dataclass
class Context:
    """`spec` has the fields of a FunctionSpec that checks read (outputs, grad_inputs, models,
    findings, conventions, ...); a class kata passes a small object with the same fields."""

    spec: Any
    cases: list[Case]
    reference: Callable | None
    cand: dict[str, Any]
    mistakes: tuple[Mistake, ...]
    hint_command: str
    ref_runs: list[dict[str, Any]] | None = None  # the reference's runs on `cases`, when already computed

    def __post_init__(self) -> None:
        if self.ref_runs is None:
            self.ref_runs = reference_runs(self.spec, self.reference, self.cases) if self.reference else []
        self.runs: list[dict[str, Any]] = self.cand["runs"]

    def mistake(self, name: str | None) -> Mistake | None:
        """The catalogued mistake called `name`, if this kata catalogues it."""
        return next((m for m in self.mistakes if m.name == name), None) if name else None

    def finding(self, key: str) -> Mistake | None:
        """The catalogued mistake the spec maps a generic finding to (`FunctionSpec.findings`)."""
        return self.mistake(getattr(self.spec, "findings", {}).get(key))


@contextmanager
def one_thread() -> Iterator[None]:
    """Judge with one intra-op thread: the grader's tensors are tiny, and waking a thread pool
    costs more than the op (about 4 ms per F.logsigmoid call on a loaded two-core machine,
    against 0.05 ms on one thread), which the diagnosis pays hundreds of times."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def reference_runs(spec: Any, reference: Callable, cases: list[Case]) -> list[dict[str, Any]]:
    """What the reference computes on every case; depends only on the seed, so one list serves
    every submission graded with it (checks only read it)."""
    return [run_case(spec, reference, c) for c in cases]


def bare_call(run: dict[str, Any]) -> str:
    """How a call of grader.checks.probe.probe_no_grad was made, for a message."""
    if run.get("recording"):
        return ("called with inputs that carry no graph, gradient recording on (no torch.no_grad) and the options "
                "passed by position")
    if run.get("by_name") is True:
        return ("called with inputs that carry no graph (under torch.no_grad) and every input and option passed by "
                "name, as f(mask=..., logps=...) calls it")
    return "called with inputs that carry no graph (under torch.no_grad, as in training)"


def errored(name: str, message: str, err: dict[str, Any] | None) -> CheckResult:
    """An `error` check reporting `err` (a raised error the child described), every frame kept
    for --verbose."""
    return CheckResult(name, "error", message, traceback=frames.frames_of(err))


def error_text(err: dict[str, Any]) -> str:
    where = f" at {err['where']}" if err.get("where") else ""
    msg = err["message"].splitlines()[0] if err["message"] else ""
    return f"raised {err['type']}: {msg}{where}"


def show_inputs(case: Case) -> str:
    """A small input that shows the failure, when the case is small enough to read."""
    if any(t.numel() > SMALL_INPUT for t in case.inputs.values()):
        return ""
    parts = [f"{k}={_round(v.tolist())}" for k, v in case.inputs.items()]
    parts += [f"{k}={_round(v.tolist()) if isinstance(v, torch.Tensor) else v!r}" for k, v in case.options.items()]
    return " Input: " + ", ".join(parts) + "."


def _round(x: Any) -> Any:
    if isinstance(x, list):
        return [_round(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.4g}")
    return x


def smallest_first(indices: list[int], cases: list[Case]) -> list[int]:
    return sorted(indices, key=lambda i: sum(t.numel() for t in cases[i].inputs.values()))


def value_cases(ctx: Context, extreme: bool) -> list[int]:
    return [i for i, c in enumerate(ctx.cases) if c.extreme == extreme]


def constant_in(ref_run: dict[str, Any], grad_input: str) -> bool:
    """True when the reference's result does not move with `grad_input` on this case (an all-zero
    gradient, e.g. sequence_logps with no counted token): a result with no graph is right there."""
    grad = ref_run["grads"].get(grad_input)
    return grad is not None and not bool(grad.any())


def named(mistake: Mistake | None) -> str:
    return f" This is the known mistake '{mistake.name}': {mistake.advice}" if mistake else ""


def fail(name: str, message: str, mistake: Mistake | None = None, **details: Any) -> CheckResult:
    return CheckResult(name, "fail", message, mistake=mistake.name if mistake else None, details=details)


def mistake_at(ctx: Context, check: str, mentions: str = "") -> Mistake | None:
    """The catalogued mistake of `check` whose name mentions `mentions` (else the first of `check`)."""
    at = [m for m in ctx.mistakes if m.check == check]
    return next((m for m in at if mentions and mentions in m.name), at[0] if at else None)


def all_errored(name: str, ctx: Context) -> CheckResult:
    err = next(r["error"] for r in ctx.runs if r["error"])
    return errored(name, f"every case {error_text(err)}", err)
