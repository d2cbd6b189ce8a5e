"""The record types of an experiment: what grader/practice/experiments/NAME.py writes down.

Pure data and small functions of a run's numbers; no torch. grader.practice.experiment is the
mechanism that runs a record and explains how to add one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Arm:
    """One function of an experiment: the kata whose file provides it, and its runs."""

    kata: str  # its file is NAME.py in the workspace (or solutions/)
    function: str
    label: str  # how the report names the arm's runs ("DPO")
    runs: tuple[dict[str, Any], ...]  # one training run per dict: the function's keyword arguments
    settings: dict[str, float] = field(default_factory=dict)  # for the training function (e.g. lr)


@dataclass
class Run:
    """One training run: an arm, its keyword arguments, the series recorded at every step."""

    arm: str  # the arm's label
    kwargs: dict[str, Any]
    series: dict[str, list[float]] = field(default_factory=dict)
    error: str = ""  # the candidate's function failed during training, or its results were malformed

    @property
    def trained(self) -> bool:
        return not self.error and bool(self.series)


@dataclass(frozen=True)
class Finding:
    """A statement the seeds make, and whether these runs bear it out."""

    text: str
    holds: bool


@dataclass(frozen=True)
class Column:
    """One column of the report's table: its title and a run's cell."""

    title: str
    cell: Callable[[Run], str]
    key: bool = False  # identifies the run: shown even when the run failed (its error follows)


@dataclass(frozen=True)
class Curve:
    """One block of sparklines, a line per trained run, on one scale for all runs."""

    title: str
    values: Callable[[Run], list[float]]
    log: bool = False
    mark: Callable[[Run], float | None] = lambda run: None  # a level drawn dotted in the PNG (a target)
    x: str = "step"  # what the values run over (the PNG's x label)
    xs: tuple[float, ...] = ()  # the x of each value when not 0, 1, 2, ... (e.g. completion lengths)
    ylabel: str = ""  # the PNG's y-axis label (default: the title)
    mark_label: Callable[[Run], str] = lambda run: ""  # the dotted level's entry in the PNG's legend
    arms: tuple[str, ...] = ()  # the labels of the arms whose runs it draws; every arm's when empty

    def shows(self, run: Run) -> bool:
        return not self.arms or run.arm in self.arms


def _no_problem(run: Run) -> str:
    return ""


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    arms: tuple[Arm, ...]
    train: Callable[..., dict[str, list[float]]]  # child side: (fn, kwargs, settings, steps, seed) -> series
    series: tuple[str, ...]
    findings: Callable[[list[Run]], list[Finding]]
    label: Callable[[Run], str]
    columns: tuple[Column, ...]
    curves: tuple[Curve, ...]
    check: Callable[[Run], str] = _no_problem
    seconds_per_step: float = 0.01  # the child's time limit: 10 s plus this per step and run
    # Series with a fixed number of points instead of one per step (e.g. one per completion length).
    points: dict[str, int] = field(default_factory=dict)
