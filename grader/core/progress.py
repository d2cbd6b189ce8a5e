"""Recording a grade as progress: one function shared by `kata grade`, `kata watch` and the
notebook API (when it grades a workspace's file).

Each graded kata's status and check counts go into the workspace's state
(grader.core.state), and the hints the person has used go into the report, so every
report shows them. A kata the grader could not judge (`grader_error`: its own bug,
grader.core.faults) leaves the recorded status as it was: a grader fault never charges the
submission, and never credits it either. No torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.core import workspace
from grader.core.kata import Kata
from grader.core.results import Report
from grader.core.state import State


def record(ws: Path, report: Report) -> State:
    """Each kata's grade into the workspace state, and the hints used into the report; the state saved."""
    state = State.load(ws)
    for r in report.katas:
        r.hints_used = state.get(r.name).hints
        if r.status != "grader_error":
            state.record_grade(r.name, r.status, sum(c.status == "pass" for c in r.checks), len(r.checks))
    state.save()
    return state


@dataclass(frozen=True)
class Standing:
    """Where one kata stands in a workspace, for `kata list`: fields, not words."""

    kata: Kata
    status: str  # a last graded status (grader.core.results.KATA_STATUSES) or, never graded: the file's
    # state, "missing", "not_started" (the stub) or "in_progress" (edited)
    reset: bool = False  # graded once, then its file was reset to the stub
    hints_used: int = 0


def standings(ws: Path, state: State | None) -> list[Standing]:
    """Every kata's standing in workspace `ws` (`state` None: no workspace there), in registry order."""
    out = []
    for fs in workspace.file_states(ws):
        progress = state.get(fs.kata.name) if state else None
        hints = progress.hints if progress else 0
        if progress and progress.status:
            reset = fs.state == "stub" and progress.status != "not_started"
            out.append(Standing(fs.kata, "not_started" if reset else progress.status, reset, hints))
        else:
            status = {"missing": "missing", "stub": "not_started", "edited": "in_progress"}[fs.state]
            out.append(Standing(fs.kata, status, False, hints))
    return out
