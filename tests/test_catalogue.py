"""Every catalogued mistake is real code in tests/mistakes/KATA/ and fails at its named check,
with its name in the message; every correct variant in tests/variants/KATA/ passes."""
from __future__ import annotations

import importlib

import pytest

from grader import registry
from grader.checks.function import FunctionSpec
from tests.conftest import MISTAKES, VARIANTS, check, declared, mistake_model_problems

MISTAKE_FILES = sorted(MISTAKES.glob("*/*.py"))
VARIANT_FILES = sorted(VARIANTS.glob("*/*.py"))


def test_every_catalogued_mistake_has_a_submission():
    have = {(p.parent.name, declared(p, "mistake")) for p in MISTAKE_FILES}
    want = {(k.name, m.name) for k in registry.KATAS.values() for m in k.mistakes}
    assert want - have == set(), "catalogued mistakes without a test submission"
    assert have - want == set(), "test submissions naming no catalogued mistake"


@pytest.mark.parametrize("path", MISTAKE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_mistake_fails_at_its_check_with_its_name(path, grade_one):
    kata = registry.get(path.parent.name)
    name = declared(path, "mistake")
    mistake = next(m for m in kata.mistakes if m.name == name)
    result = grade_one(kata.name, path.read_text())
    assert result.status == "fail", (result.status, result.message)
    c = check(result, mistake.check)
    assert c.status == "fail", (c.status, c.message)
    assert c.mistake == name
    assert f"known mistake '{name}'" in c.message


@pytest.mark.parametrize("path", VARIANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_variant_passes(path, seed, grade_one):
    result = grade_one(path.parent.name, path.read_text(), seed=seed)
    failed = [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert result.status == "pass", (result.message, failed)


FUNCTION_KATAS = [k for k in registry.KATAS.values()
                  if isinstance(importlib.import_module(k.spec).SPEC, FunctionSpec)]


@pytest.mark.parametrize("kata", FUNCTION_KATAS, ids=lambda k: k.name)
def test_every_mistake_model_shows_at_its_check_on_every_seed(kata):
    """Each model differs from the reference at its check and no earlier mistake at that check
    reproduces it, on every seed: so the check fails and the diagnosis names the right mistake."""
    spec = importlib.import_module(kata.spec).SPEC
    reference = getattr(importlib.import_module(kata.solution), spec.function)
    assert mistake_model_problems(spec, reference, kata.mistakes, range(25)) == []
