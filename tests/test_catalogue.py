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
    other option 'changed' when it is off its default (a batched tensor always is), and 0 and 1,
    where code takes shortcuts (λ = 1: Monte Carlo returns), each a class of its own."""
    if isinstance(default, str) or isinstance(value, str):
        return {repr(value)}
    if isinstance(value, torch.Tensor):
        return {"changed"}
    if value == default:
        return set()
    return {"changed"} | ({f"= {value}"} if value in (0, 1) else set())


def option_rows(spec, seed: int) -> list[dict[str, set]]:
    options = {p.name: p.default for p in spec.params if p.default is not REQUIRED}
    return [{k: option_classes(c.options.get(k, d), d) for k, d in options.items()} for c in spec.make_cases(seed)]


def uncovered_pairs(rows: list[dict[str, set]], fixed: set) -> list[tuple]:
    """The pairs of classes of two options that no case holds together. A 0 or 1 (`fixed`: those
    the cases hold at every seed) must meet every other option changed and every enum value."""
    every = {k: set().union(*(r[k] for r in rows)) for k in rows[0]} if rows else {}
    wanted = lambda k, special: {c for c in every[k] if not c.startswith("= ") or (c in fixed and not special)}
    return [(a, x, b, y) for a, b in itertools.combinations(every, 2)
            for x in sorted(wanted(a, False)) for y in sorted(wanted(b, x.startswith("= ")))
            if not any(x in r[a] and y in r[b] for r in rows)]


@pytest.mark.parametrize("kata", list(registry.KATAS))
def test_every_option_meets_every_other_at_every_seed(kata):
    """An option honoured in one combination only is a mistake no case shows unless the two meet:
    eps ignored under one scale, max_completion_length read by every loss_type, λ = 1 taken as
    Monte Carlo returns whatever γ. Every value an enum option takes in the cases, and every 0
    or 1 they hold at every seed, meets every other option off its default (and every value of
    every other enum option), in one case at least, at each of 25 seeds."""
    from tests.test_diagnosis import specs_of

    problems = []
    for spec in specs_of(kata):
        by_seed = [option_rows(spec, seed) for seed in range(25)]
        classes = [{c for r in rows for cs in r.values() for c in cs} for rows in by_seed]
        fixed = set.intersection(*classes) if classes else set()
        problems += [(spec.function, seed, pair) for seed, rows in enumerate(by_seed)
                     for pair in uncovered_pairs(rows, fixed)]
    assert problems == []


def bad_enum_classes(value, valid: set) -> set:
    """How a rejected value of an enum option is near a valid one (a loose parse would take it)."""
    if value is None:
        return {"None"}
    if not isinstance(value, str) or value in valid:
        return set()
    near = {"another case": value.lower() in {v.lower() for v in valid},
            "space around it": value.strip() in valid,
            "a suffix": any(value.startswith(v) for v in valid)}
    return {k for k, hit in near.items() if hit}


@pytest.mark.parametrize("kata", list(registry.KATAS))
def test_every_enum_option_refuses_what_a_loose_parse_takes(kata):
    """Each enum option's bad inputs hold None, a valid word in another case, one with space
    around it and one with a suffix: `.lower()`, `.strip()`, `startswith` and `x or default`
    each pass all the others, at every seed."""
    from tests.test_diagnosis import specs_of

    missing = []
    for spec in specs_of(kata):
        enums = {p.name: p.default for p in spec.params if isinstance(p.default, str)}
        for seed in range(3):
            valid = {k: {d} | {c.options[k] for c in spec.make_cases(seed) if k in c.options} for k, d in enums.items()}
            bad = spec.bad_inputs(seed) if spec.bad_inputs else []
            for k in enums:
                seen = set().union(*(bad_enum_classes(c.options[k], valid[k]) for c in bad if k in c.options))
                missing += [(spec.function, seed, k, want) for want in
                            ("None", "another case", "space around it", "a suffix") if want not in seen]
    assert missing == []
