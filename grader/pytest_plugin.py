"""A pytest plugin that grades a workspace: `pytest --kata` (registered as `pytest11` entry point).

    pytest --kata                          every kata in ./katas
    pytest --kata=dpo,ipo --kata-path DIR  some katas of another workspace

Each kata is a file node (`katas/dpo.py`) with one item for its verdict (`katas/dpo.py::kata`)
and one per check (`katas/dpo.py::values`), so that editors' test explorers (VS Code,
PyCharm) list and run the katas; a failing item's text is the grader's message. Every kata
selected is graded in one run of the sandbox at the first item, exactly as `kata grade`
grades it (the same engine, seed and limits), and the progress is recorded in the workspace.

Without --kata the plugin does nothing at all: a plain `pytest` run collects and runs what
it did before. Importing this module does not import torch.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

from grader import registry

VERDICT = "kata"  # the item that stands for the kata's verdict, beside one item per check


def _within(kind: type, bounds: tuple[float, float]):
    """An option converter: a number in `bounds` (grader.core.tolerances), else a usage error."""
    def convert(text: str):
        import argparse

        from grader.core.tolerances import parse_within

        try:
            return parse_within(kind, bounds, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = kind.__name__
    return convert


def pytest_addoption(parser: pytest.Parser) -> None:
    from grader.core import tolerances as tol

    group = parser.getgroup("kata", "grade a dpo-kata workspace")
    group.addoption("--kata", action="store", nargs="?", const="all", default=None, metavar="NAMES",
                    help="Grade katas instead of collecting tests: all, or a comma-separated list (dpo,ipo).")
    group.addoption("--kata-path", action="store", default="katas", metavar="DIR",
                    help="The workspace to grade with --kata (default: katas).")
    group.addoption("--kata-seed", action="store", type=_within(int, tol.SEED_RANGE), default=None, metavar="N",
                    help="Seed of the random inputs with --kata (default: random; reports name it).")
    group.addoption("--kata-timeout", action="store", type=_within(float, tol.TIMEOUT_RANGE), default=10.0,
                    metavar="SECONDS",
                    help="Wall-clock seconds per kata with --kata (default: 10).")


def _names(config: pytest.Config) -> list[str] | None:
    """The katas --kata asks for, in curriculum order; None without --kata."""
    value = config.getoption("kata", default=None)
    if value is None:
        return None
    if value == "all":
        return registry.names()
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return [n for n in registry.names() if n in {registry.get(w).name for w in wanted}]
    except registry.UnknownKata as exc:
        raise pytest.UsageError(f"--kata: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    names = _names(config)
    if names is not None:
        config.stash[_GRADING] = Grading(config, names)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --kata, only katas are collected (not the project's tests)."""
    return True if _GRADING in config.stash else None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    grading = config.stash.get(_GRADING, None)
    if grading is None:
        return
    ws = grading.path
    for name in grading.names:
        kata = registry.get(name)
        node = KataFile.from_parent(session, path=(ws / kata.filename).resolve())
        items.extend(node.collect())


class Grading:
    """One grade of every kata the session runs, made at the first item that needs it."""

    def __init__(self, config: pytest.Config, names: list[str]) -> None:
        self.names = names
        self.path = Path(config.getoption("kata_path"))
        seed = config.getoption("kata_seed")
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(3), "big")
        self.timeout = config.getoption("kata_timeout")
        self.results: dict[str, Any] | None = None

    def result(self, session: pytest.Session, name: str) -> Any:
        if self.results is None:
            wanted = list(dict.fromkeys(i.kata for i in session.items if isinstance(i, KataItem)))
            self.results = self._grade(wanted or [name])
        if name not in self.results:  # selected after the first grade (not in session.items): grade it alone
            self.results.update(self._grade([name]))
        return self.results[name]

    def _grade(self, names: list[str]) -> dict[str, Any]:
        from grader.core import workspace
        from grader.core.state import file_digest
        from grader.sandbox.pool import Limits, Sandbox

        if not self.path.is_dir():
            raise pytest.UsageError(f"--kata-path: no workspace at '{self.path}'. Create one with "
                                    f"`kata init {self.path}`.")
        digests = {n: file_digest(workspace.kata_path(self.path, registry.get(n))) for n in names}
        with Sandbox.start() as sandbox:
            from grader.core import engine
            from grader.practice.watch import record

            options = engine.Options(seed=self.seed, limits=Limits(timeout=self.timeout))
            report = engine.grade(names, self.path, options, sandbox=sandbox)
        record(self.path, report, digests)
        return {r.name: r for r in report.katas}


_GRADING = pytest.StashKey[Grading]()


class KataFile(pytest.File):
    """A kata's file in the workspace: its verdict, then one item per check, in the report's order."""

    def collect(self) -> Iterator[pytest.Item]:
        kata = next(k for k in registry.KATAS.values() if k.filename == self.path.name)
        yield KataItem.from_parent(self, name=VERDICT, kata=kata.name, check=None)
        for check in kata.check_names:
            yield KataItem.from_parent(self, name=check, kata=kata.name, check=check)


class KataFailure(Exception):
    """A check (or a kata) that does not pass; its text is the grader's message."""


class KataItem(pytest.Item):
    def __init__(self, *, kata: str, check: str | None, **kw: Any) -> None:
        super().__init__(**kw)
        self.kata, self.check = kata, check

    def runtest(self) -> None:
        r = self.config.stash[_GRADING].result(self.session, self.kata)
        seed = self.config.stash[_GRADING].seed
        if self.check is None:
            if r.status != "pass":
                failed = ", ".join(c.name for c in r.failed_checks)
                why = r.message or f"failing checks: {failed}"
                raise KataFailure(f"{self.kata}: {r.status.replace('_', ' ')}. {why} (seed {seed}: "
                                  f"--kata-seed {seed} reproduces it)")
            return
        found = next((c for c in r.checks if c.name == self.check), None)
        if found is None:  # the kata was not graded check by check (not started, error, timeout)
            pytest.skip(f"not run: {self.kata} is {r.status.replace('_', ' ')}" + (f": {r.message}" if r.message else ""))
        if found.status == "skip":
            pytest.skip(found.message or "skipped")
        if found.advisory and found.status != "pass":  # advice never decides the verdict
            warnings.warn(UserWarning(f"{self.kata}::{self.check} (advice): {found.message}"))
            return
        if found.status != "pass":
            mistake = f" [known mistake: {found.mistake}]" if found.mistake else ""
            raise KataFailure(f"{self.check} {found.status.upper()}{mistake}: {found.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, KataFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.kata}::{self.name}"
