"""Every catalogued mistake is real code in tests/mistakes/KATA/, and its model shows at its check
on every one of 25 seeds. (Grading the files themselves: tests/test_diagnosis.py.)"""
from __future__ import annotations

import importlib
import itertools

import pytest
import torch

from grader import registry
from grader.checks.function import FunctionSpec
from grader.checks.spec import REQUIRED
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


def option_classes(value, default) -> set:
    """What a case's option value covers: an enum option its value (its default included), any
    other option 'changed' when it is off its default (a batched tensor always is)."""
    if isinstance(default, str) or isinstance(value, str):
        return {repr(value)}
    if isinstance(value, torch.Tensor):
        return {"changed"}
    return set() if value == default else {"changed"}


def uncovered_pairs(spec, seed: int) -> list[tuple]:
    options = {p.name: p.default for p in spec.params if p.default is not REQUIRED}
    rows = [{k: option_classes(c.options.get(k, d), d) for k, d in options.items()} for c in spec.make_cases(seed)]
    every = {k: set().union(*(r[k] for r in rows)) for k in options}
    return [(a, x, b, y) for a, b in itertools.combinations(options, 2) for x in sorted(every[a]) for y in sorted(every[b])
            if not any(x in r[a] and y in r[b] for r in rows)]


@pytest.mark.parametrize("kata", list(registry.KATAS))
def test_every_option_meets_every_other_at_every_seed(kata):
    """An option honoured in one combination only is a mistake no case shows unless the two meet:
    eps ignored under one scale, max_completion_length read by every loss_type, epsilon_low
    ignored at the token level. Every value an enum option takes in the cases meets every other
    option off its default (and every value of every other enum option), in one case at least,
    at each of 25 seeds."""
    from tests.test_diagnosis import specs_of

    problems = [(spec.function, seed, pair) for spec in specs_of(kata) for seed in range(25)
                for pair in uncovered_pairs(spec, seed)]
    assert problems == []
