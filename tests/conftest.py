"""Shared fixtures: one sandbox for the whole session, and helpers to grade source text."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader import registry, workspace
from grader.results import KataResult, Report
from grader.sandbox import Limits, Sandbox

TESTS = Path(__file__).resolve().parent
MISTAKES = TESTS / "mistakes"
VARIANTS = TESTS / "variants"


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox.start() as sb:
        yield sb


@pytest.fixture
def grade_files(tmp_path, sandbox):
    """grade_files({"dpo": source, ...}, names=None, seed=0, parallel=0, **limits) -> Report, in a fresh
    workspace (tmp_path / "ws"); `parallel`: children at once (0: one per core)."""
    from grader import engine

    def run(files: dict[str, str], names: list[str] | None = None, seed: int = 0, device: str = "cpu",
            parallel: int = 0, **limits) -> Report:
        ws = tmp_path / "ws"
        ws.mkdir(exist_ok=True)
        for name, source in files.items():
            (ws / f"{name}.py").write_text(source)
        options = engine.Options(seed=seed, device=device, limits=Limits(**limits), parallel=parallel)
        return engine.grade(names or list(files), ws, options, sandbox=sandbox)

    return run


@pytest.fixture
def grade_one(grade_files):
    """grade_one(kata, source, **kw) -> KataResult."""

    def run(kata: str, source: str, **kw) -> KataResult:
        return grade_files({kata: source}, [kata], **kw).katas[0]

    return run


def check(result: KataResult, name: str):
    matches = [c for c in result.checks if c.name == name]
    assert matches, f"no check named {name!r} in {[c.name for c in result.checks]}"
    return matches[0]


def solution_source(kata: str) -> str:
    return workspace.solution_path(registry.get(kata)).read_text()


def declared(path: Path, key: str) -> str:
    """The value of a `# key: value` line at the top of a test submission."""
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no '# {key}:' line")
