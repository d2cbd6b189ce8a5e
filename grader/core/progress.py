"""Recording a grade as progress: one function shared by `kata grade`, `kata watch` and the
notebook API (when it grades a workspace's file).

Each graded kata's status and check counts go into the workspace's state
(grader.core.state), and the hints the person has used go into the report, so every
report shows them. A kata the grader could not judge (`grader_error`: its own bug,
grader.core.faults) leaves the recorded status as it was: a grader fault never charges the
submission, and never credits it either. No torch.
"""
from __future__ import annotations

from pathlib import Path

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
