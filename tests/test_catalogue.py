"""Every catalogued mistake is real code in tests/mistakes/KATA/, and its model shows at its check
on every one of 25 seeds. (Grading the files themselves: tests/test_diagnosis.py.)"""
from __future__ import annotations

import importlib

import pytest

from grader import registry
from grader.checks.function import FunctionSpec
from tests.conftest import MISTAKES, declared, mistake_model_problems

MISTAKE_FILES = sorted(MISTAKES.glob("*/*.py"))


def test_every_catalogued_mistake_has_a_submission():
    have = {(p.parent.name, declared(p, "mistake")) for p in MISTAKE_FILES}
    want = {(k.name, m.name) for k in registry.KATAS.values() for m in k.mistakes}
    assert want - have == set(), "catalogued mistakes without a test submission"
    assert have - want == set(), "test submissions naming no catalogued mistake"


# Each file is graded at several seeds, a kata's files as one cohort: tests/test_diagnosis.py.


FUNCTION_KATAS = [k for k in registry.KATAS.values()
                  if isinstance(importlib.import_module(k.spec).SPEC, FunctionSpec)]


@pytest.mark.parametrize("kata", FUNCTION_KATAS, ids=lambda k: k.name)
def test_every_mistake_model_shows_at_its_check_on_every_seed(kata):
    """Each model differs from the reference at its check and no earlier mistake at that check
    reproduces it, on every seed: so the check fails and the diagnosis names the right mistake."""
    spec = importlib.import_module(kata.spec).SPEC
    reference = getattr(importlib.import_module(kata.solution), spec.function)
    assert mistake_model_problems(spec, reference, kata.mistakes, range(25)) == []
