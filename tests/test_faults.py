"""A fault in the grader's own code is the grader's: named, reported as a bug, never charged
to the submission, with its own exit code (grader.core.faults)."""
from __future__ import annotations

import importlib
import json

import pytest
from click.testing import CliRunner

from grader import registry
from grader.checks import judge
from grader.cli import EXIT_GRADER_FAULT, main
from grader.core import workspace
from grader.core.faults import GraderFault, MalformedResults
from grader.core.state import State
from tests.borrowed import lend
from tests.conftest import solution_source

WIDE = {"COLUMNS": "200"}


@pytest.fixture
def runner(monkeypatch, sandbox):
    lend(monkeypatch, sandbox)
    return CliRunner(env=WIDE)


def boom(ctx):
    raise RuntimeError("injected into the check")


def grade_json(runner, *args):
    result = runner.invoke(main, ["grade", "--json", "--seed", "3", *args])
    return result.exit_code, json.loads(result.stdout)


def test_a_check_that_raises_is_a_grader_fault_with_its_own_exit_code(runner, monkeypatch):
    monkeypatch.setitem(judge.CHECKS, "values", boom)
    code, doc = grade_json(runner, "dpo", "get_probs", "--reference")
    assert code == EXIT_GRADER_FAULT == 3
    dpo, get_probs = doc["katas"]
    assert dpo["status"] == "grader_error" and dpo["checks"] == []
    assert dpo["message"] == ("the grader failed in check 'values' (RuntimeError: injected into the check). This is a "
                              "bug in the grader, not in the submission, which was not judged. Please report it with "
                              "this message, the command and its seed.")
    fault = dpo["grader_fault"]
    assert {k: fault[k] for k in ("stage", "check", "exception")} == {
        "stage": "judging", "check": "values", "exception": "RuntimeError: injected into the check"}
    assert fault["at"].endswith("tests/test_faults.py:" + str(boom.__code__.co_firstlineno + 1))
    # the fault is the kata's alone: the other kata's checks still run (get_probs lists 'values' too, so it
    # also faults) and the report counts no pass for a kata the grader could not judge
    assert get_probs["status"] == "grader_error" and doc["passed"] == 0


def test_the_fault_is_not_charged_to_the_submission(runner, monkeypatch, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    assert runner.invoke(main, ["grade", "dpo", "--path", str(ws)]).exit_code == 0
    monkeypatch.setitem(judge.CHECKS, "gradients", boom)
    result = runner.invoke(main, ["grade", "dpo", "--path", str(ws)])
    assert result.exit_code == 3, result.output
    assert "dpo  GRADER ERROR" in result.output
    assert "the grader failed in check 'gradients' (RuntimeError: injected into the check)" in result.output
    assert State.load(ws).get("dpo").status == "pass"  # the last real verdict stands


def test_a_check_a_record_lists_but_nothing_implements_is_named(runner, monkeypatch):
    monkeypatch.delitem(judge.CHECKS, "stability")
    code, doc = grade_json(runner, "dpo", "--reference")
    assert code == 3
    assert doc["katas"][0]["grader_fault"]["check"] == "stability"
    assert doc["katas"][0]["message"].startswith(
        "the grader failed in check 'stability' (LookupError: the kata lists the check 'stability', which "
        "neither grader/checks/judge.py nor the kata's spec implements).")


@pytest.mark.parametrize("method, stage", [("make_cases", "case generation"), ("expected", "the reference run")])
def test_case_generation_and_the_reference_run_are_stages(runner, monkeypatch, method, stage):
    spec = importlib.import_module(registry.get("dpo").spec).SPEC

    def raises(*args, **kwargs):
        raise ZeroDivisionError("in the grader")

    monkeypatch.setitem(vars(spec), method, raises)  # this spec only; undone without a trace
    code, doc = grade_json(runner, "dpo", "get_probs", "--reference")
    assert code == 3
    dpo, get_probs = doc["katas"]
    assert dpo["status"] == "grader_error" and dpo["grader_fault"]["stage"] == stage
    assert "check" not in dpo["grader_fault"]
    assert dpo["message"].startswith(f"the grader failed in {stage} (ZeroDivisionError: in the grader). ")
    assert get_probs["status"] == "pass"  # the other kata is graded as usual


def test_rendering_is_a_stage_too(runner, monkeypatch):
    from grader import render

    def raises(*args, **kwargs):
        raise KeyError("a field")

    monkeypatch.setattr(render, "report", raises)
    result = runner.invoke(main, ["grade", "dpo", "--reference", "--seed", "3"])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: the grader failed in rendering (KeyError: 'a field'). This is a bug in "
                                    "the grader")


def test_a_check_that_refuses_the_child_s_data_charges_the_submission(runner, monkeypatch):
    """MalformedResults is the submission's doing (its child wrote the data): an error, not a fault."""
    def refuses(ctx):
        raise MalformedResults("run 0's outputs are not tensors")

    monkeypatch.setitem(judge.CHECKS, "values", refuses)
    code, doc = grade_json(runner, "dpo", "--reference")
    assert code == 1
    assert doc["katas"][0]["status"] == "error" and "grader_fault" not in doc["katas"][0]
    assert doc["katas"][0]["message"] == "the submission's results could not be judged (run 0's outputs are not tensors)."


def test_grade_help_documents_the_exit_codes(runner):
    text = " ".join(runner.invoke(main, ["grade", "--help"]).output.split())
    assert ("Exit code 0: all pass, 1: any does not, 2: usage error, 3: the grader itself failed on a kata (a bug in "
            "the grader, to report; that kata gets no verdict and is not charged).") in text


def test_every_check_a_record_lists_is_implemented():
    """By grader/checks/judge.py, or by the kata's spec (FunctionSpec.checks: a check of that kata alone)."""
    import importlib

    own = {k.name: getattr(importlib.import_module(k.spec).SPEC, "checks", {}) for k in registry.KATAS.values()}
    missing = {k.name: [c for c in k.check_names if c not in judge.CHECKS and c not in own[k.name]]
               for k in registry.KATAS.values()}
    assert {k: v for k, v in missing.items() if v} == {}


def test_grader_fault_names_its_stage_check_and_exception():
    try:
        {}["x"]
    except KeyError as exc:
        fault = GraderFault("judging", exc, check="values")
    assert fault.summary == "the grader failed in check 'values' (KeyError: 'x')"
    assert fault.to_dict()["exception"] == "KeyError: 'x'"
