"""FunctionsSpec: a kata of several functions graded with the same checks, each check's verdict
merged over the functions (grader/checks/multi.py), through the engine and the notebook API."""
from __future__ import annotations

import importlib

import pytest

from grader import grade, registry
from grader.checks.multi import FunctionsSpec, merge
from grader.core import workspace
from grader.core.faults import MalformedResults
from grader.core.results import CheckResult
from tests.conftest import check, solution_source

KATA = registry.get("advantages")
SPEC = importlib.import_module(KATA.spec).SPEC


def test_merge_takes_the_worst_status_and_names_the_failing_function():
    ok = CheckResult("values", "pass", "all outputs match")
    bad = CheckResult("values", "fail", "case 'x': expected 1, got 2.", mistake="strided groups (view(G, -1))")
    merged = merge("values", [("f", ok), ("g", bad)])
    assert (merged.status, merged.mistake) == ("fail", "strided groups (view(G, -1))")
    assert merged.message == "g: case 'x': expected 1, got 2."
    err = merge("values", [("f", CheckResult("values", "error", "raised")), ("g", ok)])
    assert (err.status, err.message) == ("error", "f: raised")
    both = merge("values", [("f", ok), ("g", CheckResult("values", "pass", "fine"))])
    assert (both.status, both.message) == ("pass", "f: all outputs match | g: fine")


def test_merge_says_shared_words_once_and_keeps_advisory_only_when_all_are():
    skip = CheckResult("cuda_agreement", "skip", "CUDA is not available")
    assert merge("cuda_agreement", [("f", skip), ("g", skip)]).message == "CUDA is not available"
    assert merge("cuda_agreement", [("f", skip), ("g", skip)]).status == "skip"
    adv = CheckResult("device_hygiene", "pass", "ok", advisory=True)
    assert merge("device_hygiene", [("f", adv), ("g", adv)]).advisory
    assert not merge("device_hygiene", [("f", adv), ("g", CheckResult("device_hygiene", "pass", "ok"))]).advisory


def test_cases_carry_their_function_and_models_are_the_union():
    cases = SPEC.make_cases(0)
    for part in SPEC.parts:
        own = SPEC.cases_of(part, cases)
        assert len(own) == len(part.make_cases(0)) and own
        assert all(c.name.startswith(f"{part.function}: ") for c in own)
    assert set(SPEC.models) == set(SPEC.parts[0].models) | set(SPEC.parts[1].models)
    assert isinstance(SPEC, FunctionsSpec) and SPEC.functions == KATA.entry


def test_a_truncated_report_is_an_error_not_a_pass():
    cases = SPEC.make_cases(0)
    reference = importlib.import_module(KATA.solution)
    cand = {"parts": {p.function: {"runs": []} for p in SPEC.parts}}
    with pytest.raises(MalformedResults, match="group_advantages: the report has no 'signature'"):
        SPEC.judge(reference, cases, cand, KATA)
    honest = {"parts": {p.function: p.probe(reference, SPEC.cases_of(p, cases), 0, "off") for p in SPEC.parts}}
    honest["parts"]["group_advantages"]["runs"] = []
    n = len(SPEC.parts[0].make_cases(0))
    with pytest.raises(MalformedResults, match=f"group_advantages: 0 runs reported for {n} cases"):
        SPEC.judge(reference, cases, honest, KATA)
    with pytest.raises(MalformedResults, match="no results for each of group_advantages, rloo_advantages"):
        SPEC.judge(reference, cases, {"parts": {"group_advantages": {}}}, KATA)


def test_stub_is_not_started_and_shipped_as_generated(grade_one, generated_stubs):
    stub = workspace.stub_source(KATA)
    assert (generated_stubs / KATA.filename).read_text() == stub  # what `kata init` writes
    r = grade_one("advantages", stub)
    assert r.status == "not_started"


def test_half_written_kata_names_the_function_still_to_write(grade_one):
    stub, solution = workspace.stub_source(KATA), solution_source("advantages")
    cut_stub, cut_solution = stub.index("def rloo_advantages"), solution.index("def rloo_advantages")
    r = grade_one("advantages", solution[:cut_solution] + stub[cut_stub:])
    assert r.status == "fail"
    sig = check(r, "signature")
    assert sig.status == "error" and sig.message == "rloo_advantages: rloo_advantages still raises NotImplementedError"
    assert check(r, "behaviour").status == "skip"


def test_judged_alone_the_written_function_s_checks_pass_and_the_other_waits():
    """What the spec itself reports, before the report hides checks after a failed signature."""
    from solutions import advantages as reference

    cases = SPEC.make_cases(0)
    group, rloo = SPEC.parts
    cand = {"parts": {group.function: group.probe(reference, SPEC.cases_of(group, cases), 0, "off"),
                      rloo.function: {"fatal": {"kind": "not_started", "message": "NotImplementedError"}}}}
    results = {r.name: r for r in SPEC.judge(reference, cases, cand, KATA)}
    assert results["signature"].status == "error"
    values = results["values"]
    assert values.status == "pass" and values.message.startswith("group_advantages: all outputs match")
    assert "rloo_advantages: waits for rloo_advantages" in values.message
    assert results["behaviour"].status == "skip"


def test_a_missing_function_is_named(grade_one):
    solution = solution_source("advantages")
    r = grade_one("advantages", solution[:solution.index("def rloo_advantages")])
    assert r.status == "fail"
    assert check(r, "signature").message == "rloo_advantages: advantages.py defines no function 'rloo_advantages'"
    none = grade_one("advantages", "import torch\n")
    assert none.status == "error"
    assert "defines none of the functions 'group_advantages', 'rloo_advantages'" in none.message


def test_notebook_api_grades_both_functions(sandbox):
    from solutions.advantages import group_advantages, rloo_advantages

    result = grade("advantages", group_advantages, rloo_advantages, seed=1, sandbox=sandbox)
    assert result.status == "pass", [(c.name, c.message) for c in result.kata.failed_checks]
    assert [c.name for c in result.checks] == list(KATA.check_names)
