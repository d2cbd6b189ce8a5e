"""Result objects of a cohort run (`kata report`): one `Report` per person, same katas, same seed.

Built by the CLI from `engine.grade_many`; drawn by `render.cohort` and written by
`grader.practice.export`. No torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.core.results import Report, to_strict_json


@dataclass
class Member:
    """One person of a cohort: their name (their workspace folder's) and their report."""

    person: str
    report: Report

    def to_dict(self) -> dict[str, Any]:
        return {"person": self.person, **self.report.to_dict()}


@dataclass
class Cohort:
    members: list[Member]
    kata_names: list[str]  # the katas graded, in order
    seed: int

    @property
    def passed(self) -> int:
        """People for whom every kata passes."""
        return sum(m.report.ok for m in self.members)

    @property
    def total(self) -> int:
        return len(self.members)

    @property
    def ok(self) -> bool:
        return self.passed == self.total

    def to_dict(self) -> dict[str, Any]:
        return {"kata_names": list(self.kata_names), "seed": self.seed, "passed": self.passed,
                "total": self.total, "people": [m.to_dict() for m in self.members]}

    def to_json(self) -> str:
        return to_strict_json(self.to_dict())
