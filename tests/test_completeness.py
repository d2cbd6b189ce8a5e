"""Every registered kata is complete: the pieces CONTRIBUTING.md lists for a new kata are all
there. No torch is run here; the catalogue tests grade the files this test finds."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from grader import registry
from grader.core import workspace
from grader.core.kata import Kata
from tests.conftest import MISTAKES, TESTS, VARIANTS, declared

MIN_MISTAKES = 5
MIN_VARIANTS = 3
KATAS = list(registry.KATAS.values())


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_record_is_the_catalogue_folder_s_pure_data(kata):
    record = importlib.import_module(f"grader.catalog.{kata.name}")
    assert getattr(record, "KATA", None) is kata, f"grader/catalog/{kata.name}/__init__.py must define KATA"
    assert isinstance(kata, Kata) and kata.track in registry.TRACKS
    assert kata.entry and kata.checks and kata.hints and kata.statement and kata.signature


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_spec_is_the_catalogue_folder_s_torch_side(kata):
    path = workspace.PACKAGE_ROOT / "grader" / "catalog" / kata.name / "spec.py"
    assert path.is_file(), f"{path} is missing"
    assert getattr(importlib.import_module(kata.spec), "SPEC", None) is not None, f"{kata.spec} defines no SPEC"


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_reference_solution_defines_every_entry_point(kata):
    path = workspace.solution_path(kata)
    assert path.is_file(), f"{path} is missing"
    module = importlib.import_module(kata.solution)
    assert [e for e in kata.entry if not callable(getattr(module, e, None))] == []


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_stub_is_generated_from_the_solution(kata, generated_stubs):
    """The stub `kata init` writes is the solution with its bodies replaced, and still a stub; the
    committed katas/ is compared in test_registry (through git: people practise in katas/)."""
    path = generated_stubs / kata.filename
    assert path.is_file(), f"{path} is missing: write it with grader.core.workspace.stub_source"
    assert path.read_text() == workspace.stub_source(kata)
    assert workspace.is_stub(path, kata)


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_at_least_five_catalogued_mistakes_each_with_its_file(kata):
    files = {declared(p, "mistake") for p in sorted((MISTAKES / kata.name).glob("*.py"))}
    names = [m.name for m in kata.mistakes]
    assert len(names) >= MIN_MISTAKES, f"{kata.name} catalogues {len(names)} mistakes; at least {MIN_MISTAKES}"
    assert [n for n in names if n not in files] == [], f"catalogued mistakes of {kata.name} with no file in tests/mistakes"


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_at_least_three_correct_variants(kata):
    files = sorted((VARIANTS / kata.name).glob("*.py"))
    assert len(files) >= MIN_VARIANTS, \
        f"tests/variants/{kata.name}/ has {len(files)} correct variants; at least {MIN_VARIANTS}"


@pytest.mark.parametrize("kata", KATAS, ids=lambda k: k.name)
def test_reference_tests(kata):
    path: Path = TESTS / f"test_reference_{kata.name}.py"
    assert path.is_file(), f"{path} is missing: the reference against hand-computed values and invariances"


def test_every_catalogue_folder_is_registered():
    folders = {p.parent.name for p in (workspace.PACKAGE_ROOT / "grader" / "catalog").glob("*/__init__.py")}
    assert folders - set(registry.KATAS) == set(), "catalogue folders missing from grader/registry.py KATAS"
