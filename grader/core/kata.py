"""A kata is a record of data: what to implement, how it is explained, what is checked.

Nothing here imports torch, so `kata list`, `show` and `hint` stay fast. The torch side
of a kata (input cases, mistake models, behaviour runs) lives in the module named by
`spec` and is imported only when grading.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One named check and, in a sentence, what it verifies."""

    name: str
    what: str


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation: the check at which it fails, and what to do instead.

    The kata's spec may hold a model of it (the wrong computation itself) so that the
    grader can recognise it in a submission's output and name it.
    """

    name: str
    check: str
    advice: str


@dataclass(frozen=True)
class Kata:
    name: str
    title: str
    summary: str  # one line, for `kata list`
    statement: str  # the problem, for `kata show`
    signature: str  # the Python signature(s) the file must define
    entry: tuple[str, ...]  # top-level names the kata file must define
    hints: tuple[str, ...]  # gentle → explicit
    checks: tuple[Check, ...]  # in the order they are reported
    mistakes: tuple[Mistake, ...]  # the catalogued mistakes the grader recognises
    track: str = "preference"  # the curriculum's track (grader.registry.TRACKS)

    @property
    def filename(self) -> str:
        return f"{self.name}.py"

    @property
    def spec(self) -> str:
        """Dotted path of the torch-side specification."""
        return f"grader.catalog.{self.name}.spec"

    @property
    def solution(self) -> str:
        """Dotted path of the reference solution."""
        return f"solutions.{self.name}"

    @property
    def check_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks)
