"""The grader's judgment across seeds: every catalogued mistake file fails at its check with its
name, every variant passes, wrong code outside the catalogue is still named by the
differential diagnosis (convention families and generic findings), and wrong code that once
passed (tests/holes/) fails at its check.

Files are graded as one cohort per kata and seed, shared by the three sweeps
(grader.core.engine.grade_many: cases and reference runs computed once). The suite sweeps seeds 0-2; KATA_SWEEP_SEEDS=25 sweeps 0-24.
The mistake *models* are swept over 25 seeds in test_catalogue.py.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import torch

from grader import registry
from grader.checks.function import FunctionSpec
from grader.checks.probe import as_outputs, call
from grader.core import engine
from grader.core.compare import compare
from tests.conftest import MISTAKES, TESTS, VARIANTS, declared

UNCATALOGUED = TESTS / "uncatalogued"
HOLES = TESTS / "holes"  # wrong code an audit found passing, kept once the cases were fixed
SEEDS = range(int(os.environ.get("KATA_SWEEP_SEEDS", "3")))
KATAS = list(registry.KATAS)


def files(root: Path, kata: str) -> list[Path]:
    return sorted((root / kata).glob("*.py"))


class Sweep:
    """Every test file of a kata (its mistakes, variants and uncatalogued code) graded as one
    cohort per seed, once per session: the three sweeps below read the same gradings."""

    def __init__(self, root: Path, sandbox) -> None:
        self.root, self.sandbox, self.done = root, sandbox, {}

    def results(self, kata: str, seed: int) -> dict[Path, object]:
        if (kata, seed) not in self.done:
            paths = files(MISTAKES, kata) + files(VARIANTS, kata) + files(UNCATALOGUED, kata) + files(HOLES, kata)
            workspaces = []
            for p in paths:
                ws = self.root / f"{kata}-{seed}-{p.parent.name}-{p.stem}"
                ws.mkdir()
                (ws / f"{kata}.py").write_text(p.read_text())
                workspaces.append(ws)
            reports = engine.grade_many([kata], workspaces, engine.Options(seed=seed, device="cpu"), self.sandbox)
            self.done[(kata, seed)] = {p: r.katas[0] for p, r in zip(paths, reports)}
        return self.done[(kata, seed)]


@pytest.fixture(scope="session")
def sweep(tmp_path_factory, sandbox):
    return Sweep(tmp_path_factory.mktemp("sweep"), sandbox)


@pytest.fixture
def grade_cohort(sweep):
    """grade_cohort(kata, paths, seed) -> the KataResult of each of `paths` (files of the kata's
    test folders), from the kata's cohort at that seed."""

    def run(kata: str, paths: list[Path], seed: int):
        graded = sweep.results(kata, seed)
        return [graded[p] for p in paths]

    return run


def specs_of(kata: str) -> list[FunctionSpec]:
    """The kata's function specs: itself, a class kata's loss, or each function of a kata of
    several functions (grader.checks.multi.FunctionsSpec)."""
    spec = importlib.import_module(registry.get(kata).spec).SPEC
    if isinstance(spec, FunctionSpec):
        return [spec]
    parts = getattr(spec, "parts", None)
    return list(parts) if parts else [spec.loss]


@pytest.mark.parametrize("kata", KATAS)
def test_every_mistake_file_is_named_at_every_seed(kata, grade_cohort):
    paths = files(MISTAKES, kata)
    by_name = {m.name: m for m in registry.get(kata).mistakes}
    for seed in SEEDS:
        for path, result in zip(paths, grade_cohort(kata, paths, seed)):
            mistake = by_name[declared(path, "mistake")]
            c = next(c for c in result.checks if c.name == mistake.check)
            assert (result.status, c.status, c.mistake) == ("fail", "fail", mistake.name), (seed, path.name, c.message)
            assert f"known mistake '{mistake.name}'" in c.message


@pytest.mark.parametrize("kata", KATAS)
def test_every_variant_passes_at_every_seed(kata, grade_cohort):
    paths = files(VARIANTS, kata)
    for seed in SEEDS:
        for path, result in zip(paths, grade_cohort(kata, paths, seed)):
            failed = [(c.name, c.message) for c in result.checks if c.decides_failure]
            assert result.status == "pass", (seed, path.name, failed)


@pytest.mark.parametrize("kata", [k for k in KATAS if files(UNCATALOGUED, k)])
def test_uncatalogued_mistakes_are_named(kata, grade_cohort):
    """Wrong code written for this test alone, in the catalogue's families: the failing check says
    what it matches (`details['diagnosis']`: a convention's words or a generic finding)."""
    paths = files(UNCATALOGUED, kata)
    for seed in SEEDS:
        for path, result in zip(paths, grade_cohort(kata, paths, seed)):
            c = next(c for c in result.checks if c.name == declared(path, "check"))
            assert result.status == "fail" and c.status == "fail", (seed, path.name, c.message)
            assert c.details.get("diagnosis") == declared(path, "named"), (seed, path.name, c.message)


@pytest.mark.parametrize("kata", [k for k in KATAS if files(HOLES, k)])
def test_wrong_code_the_grader_once_passed_fails_at_its_check(kata, grade_cohort):
    """tests/holes/: wrong code written to find what the cases missed (an option's non-default
    value in one combination only, magnitudes no case reached, an empty row under one
    normaliser, a kind with a trailing space). It passed once; it must fail at its check now,
    or, for code that raises on an input the statement allows (`# status: error`), end that
    check in an error, which fails the kata all the same."""
    paths = files(HOLES, kata)
    for seed in SEEDS:
        for path, result in zip(paths, grade_cohort(kata, paths, seed)):
            c = next(c for c in result.checks if c.name == declared(path, "check"))
            status = declared(path, "status") if "\n# status:" in path.read_text() else "fail"
            assert (result.status, c.status) == ("fail", status), (seed, path.name, c.message)


def test_at_least_ten_uncatalogued_mistakes():
    assert len(list(UNCATALOGUED.glob("*/*.py"))) >= 10


@pytest.mark.parametrize("kata", KATAS)
def test_catalogue_is_complete_enough(kata):
    assert len(registry.get(kata).mistakes) >= 5
    assert len(files(MISTAKES, kata)) >= 5 and len(files(VARIANTS, kata)) >= 3


@pytest.mark.parametrize("kata", KATAS)
def test_conventions_at_the_contract_reproduce_the_reference(kata):
    """The differential diagnosis is only as good as its formula: at the contract's choices it is
    the reference, on every case of 25 seeds (else a diagnosis could name the right code); every
    kata, and every function of a kata of several functions, declares its own."""
    specs = specs_of(kata)
    solution = importlib.import_module(registry.get(kata).solution)
    for spec in specs:
        assert spec.conventions is not None, f"{kata}: {spec.function} declares no convention families"
        reference = getattr(solution, spec.function)
        formula = lambda *a, **o: spec.conventions.formula(spec.conventions.contract, *a, **o)
        for seed in range(25):
            for case in spec.make_cases(seed):
                with torch.no_grad():
                    want = dict(zip(spec.outputs, as_outputs(spec, call(reference, case))))
                    got = call(formula, case)
                assert set(got) == set(spec.outputs), (spec.function, sorted(got))
                for name, t in got.items():
                    assert compare(t, want[name], case.scale).ok, (spec.function, seed, case.name, name)


@pytest.mark.parametrize("kata", KATAS)
def test_every_deviation_words_are_unique(kata):
    """Two knobs' alternatives may share words only when they are one catalogued mistake."""
    specs = [s for s in specs_of(kata) if s.conventions is not None]
    if not specs:
        pytest.skip(f"{kata} declares no convention families")
    catalogued = {m.name for m in registry.get(kata).mistakes}
    for spec in specs:
        seen: dict[str, str] = {}
        for knob in spec.conventions.knobs:
            for words in knob.alternatives.values():
                assert seen.get(words, knob.name) == knob.name or words in catalogued, words
                seen[words] = knob.name
