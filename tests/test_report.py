"""`kata report`: a cohort graded in one run. Exact table, exit codes, CSV rows, JSON and JUnit XML;
one person's infinite loop ends as a timeout without holding up the others.

Kata names are pinned to get_probs and dpo so that katas added later do not change these tests.
"""
from __future__ import annotations

import csv
import importlib
import json
import time
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from grader.core import engine, workspace
from grader import registry
from grader.cli import main
from grader.sandbox.pool import Limits
from grader.checks.function import FunctionSpec
from tests.conftest import MISTAKES, solution_source

KATAS = ["get_probs", "dpo"]
TIMEOUT = 2.0
SEED = 5
# Prints bytes that XML 1.0 cannot carry (ESC, NUL), then never returns.
HANGING_DPO = 'def dpo_loss(*args, **kwargs):\n    print("\\x1b[31mstuck\\x00")\n    while True:\n        pass\n'
OUTPUT_IN_XML = "\ufffd[31mstuck\ufffd\n"  # what the JUnit file keeps of it


def make_cohort(root):
    """carol loops forever in dpo (first, so her hang starts at once); alice is correct; bob has the
    stubs; dave has the 'sign flipped' mistake."""
    files = {
        "carol": {"get_probs": solution_source("get_probs"), "dpo": HANGING_DPO},
        "alice": {"get_probs": solution_source("get_probs"), "dpo": solution_source("dpo")},
        "dave": {"get_probs": solution_source("get_probs"), "dpo": (MISTAKES / "dpo" / "sign_flipped.py").read_text()},
    }
    dirs = {}
    for person in ("carol", "alice", "bob", "dave"):
        ws = root / person
        workspace.init(ws)
        for kata, source in files.get(person, {}).items():
            (ws / f"{kata}.py").write_text(source)
        dirs[person] = ws
    return dirs


def kata_args():
    return [a for k in KATAS for a in ("--kata", k)]


@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    dirs = make_cohort(root)
    out = {"csv": root / "cohort.csv", "json": root / "cohort.json", "junit": root / "cohort.xml"}
    args = ["report", *map(str, dirs.values()), *kata_args(), "--timeout", str(TIMEOUT), "--seed", str(SEED),
            "--parallel", "2", "--csv", str(out["csv"]), "--json", str(out["json"]), "--junit", str(out["junit"])]
    start = time.monotonic()
    result = CliRunner().invoke(main, args)
    wall = time.monotonic() - start
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return {"result": result, "wall": wall, "dirs": dirs, "out": out,
            "doc": json.loads(out["json"].read_text())}


def person(doc, name):
    return next(p for p in doc["people"] if p["person"] == name)


def kata(entry, name):
    return next(k for k in entry["katas"] if k["name"] == name)


# ------------------------------------------------------------------ terminal and exit code
def test_table_and_exit_code(cohort_run):
    result = cohort_run["result"]
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "person    get_probs      dpo            passed",
        "carol     PASS           TIMEOUT           1/2",
        "alice     PASS           PASS              2/2",
        "bob       NOT STARTED    NOT STARTED       0/2",
        "dave      PASS           FAIL              1/2",
        "",
        f"1 / 4 people pass every kata  ·  seed {SEED} (reproduce with --seed {SEED})",
    ]


def test_hang_is_a_timeout_and_stalls_nobody(cohort_run):
    doc = cohort_run["doc"]
    carol = person(doc, "carol")
    assert [(k["name"], k["status"]) for k in carol["katas"]] == [("get_probs", "pass"), ("dpo", "timeout")]
    assert kata(carol, "dpo")["message"].startswith(f"did not finish within {TIMEOUT:g} s")
    assert TIMEOUT <= kata(carol, "dpo")["seconds"] < TIMEOUT + 1.5
    # the others ran beside the hang, each in well under the timeout, and were graded normally
    for name in ("alice", "dave"):
        for k in person(doc, name)["katas"]:
            assert k["seconds"] < TIMEOUT, (name, k["name"], k["seconds"])
            assert [c["name"] for c in k["checks"]] == list(registry.get(k["name"]).check_names)
    # one torch import, four people, one timeout: bounded by the timeout plus a constant
    assert cohort_run["wall"] < TIMEOUT + 12.0, cohort_run["wall"]


# ------------------------------------------------------------------ JSON
def test_json_structure(cohort_run):
    doc = cohort_run["doc"]
    assert set(doc) == {"kata_names", "seed", "passed", "total", "people"}
    assert (doc["kata_names"], doc["seed"], doc["passed"], doc["total"]) == (KATAS, SEED, 1, 4)
    assert [p["person"] for p in doc["people"]] == ["carol", "alice", "bob", "dave"]
    for p in doc["people"]:
        # a person's entry is their `kata grade --json` document plus their name
        assert set(p) == {"person", "katas", "passed", "total", "seed", "workspace", "warnings", "version"}
        assert p["workspace"] == str(cohort_run["dirs"][p["person"]])
        assert [k["name"] for k in p["katas"]] == KATAS
        assert p["seed"] == SEED and p["warnings"] == []
    assert [(p["passed"], p["total"]) for p in doc["people"]] == [(1, 2), (2, 2), (0, 2), (1, 2)]
    assert [k["status"] for k in person(doc, "bob")["katas"]] == ["not_started", "not_started"]
    dpo = kata(person(doc, "dave"), "dpo")
    values = next(c for c in dpo["checks"] if c["name"] == "values")
    assert (dpo["status"], values["status"], values["mistake"]) == ("fail", "fail", "sign flipped")


# ------------------------------------------------------------------ CSV
def failed_names(k):
    return [c["name"] for c in k["checks"] if c["status"] in ("fail", "error") and not c.get("advisory")]


def test_csv_rows(cohort_run):
    doc = cohort_run["doc"]
    with open(cohort_run["out"]["csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["person", "workspace", "kata", "status", "passed_checks", "total_checks", "failed_checks",
                       "seconds", "message"]
    body = rows[1:]
    assert [(r[0], r[2], r[3]) for r in body] == [
        ("carol", "get_probs", "pass"), ("carol", "dpo", "timeout"),
        ("alice", "get_probs", "pass"), ("alice", "dpo", "pass"),
        ("bob", "get_probs", "not_started"), ("bob", "dpo", "not_started"),
        ("dave", "get_probs", "pass"), ("dave", "dpo", "fail"),
    ]
    for r in body:
        k = kata(person(doc, r[0]), r[2])
        graded = k["status"] in ("pass", "fail")
        want_passed = sum(c["status"] == "pass" for c in k["checks"])
        want_total = len(registry.get(r[2]).checks) if graded else 0
        assert r[1] == str(cohort_run["dirs"][r[0]])
        assert (int(r[4]), int(r[5])) == (want_passed, want_total)
        assert r[6] == ";".join(failed_names(k))
        assert float(r[7]) == pytest.approx(k["seconds"], abs=1e-3)
        assert r[8] == (k["message"] or (f"{len(failed_names(k))} failing check"
                                         f"{'s' if len(failed_names(k)) > 1 else ''}: {', '.join(failed_names(k))}"
                                         if failed_names(k) else ""))
    dave_dpo = body[7]
    assert "values" in dave_dpo[6].split(";") and dave_dpo[8].endswith(dave_dpo[6].replace(";", ", "))


# ------------------------------------------------------------------ JUnit XML
def test_junit_xml(cohort_run):
    doc = cohort_run["doc"]
    root = ET.parse(cohort_run["out"]["junit"]).getroot()  # parses: control characters were replaced
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("name", "tests", "failures", "errors", "skipped")} == \
        {"name": "kata report", "tests": "8", "failures": "3", "errors": "1", "skipped": "0"}
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["carol", "alice", "bob", "dave"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == \
        [("2", "0", "1"), ("2", "0", "0"), ("2", "2", "0"), ("2", "1", "0")]
    for s in suites:
        props = {p.get("name"): p.get("value") for p in s.find("properties")}
        assert props == {"seed": str(SEED), "workspace": str(cohort_run["dirs"][s.get("name")])}
        cases = s.findall("testcase")
        assert [(c.get("name"), c.get("classname")) for c in cases] == [(k, s.get("name")) for k in KATAS]
        for c in cases:
            assert float(c.get("time")) == pytest.approx(kata(person(doc, s.get("name")), c.get("name"))["seconds"],
                                                         abs=1e-3)
    problems = {(s.get("name"), c.get("name")): [(e.tag, e.get("type")) for e in c if e.tag in ("failure", "error")]
                for s in suites for c in s.findall("testcase")}
    assert problems == {
        ("carol", "get_probs"): [], ("carol", "dpo"): [("error", "timeout")],
        ("alice", "get_probs"): [], ("alice", "dpo"): [],
        ("bob", "get_probs"): [("failure", "not_started")], ("bob", "dpo"): [("failure", "not_started")],
        ("dave", "get_probs"): [], ("dave", "dpo"): [("failure", "fail")],
    }
    carol_dpo = suites[0].findall("testcase")[1]
    error = carol_dpo.find("error")
    assert error.get("message") == error.text == kata(person(doc, "carol"), "dpo")["message"]
    assert carol_dpo.find("system-out").text == OUTPUT_IN_XML
    bob_dpo = suites[2].findall("testcase")[1].find("failure")
    assert bob_dpo.get("message") == "dpo.py still raises NotImplementedError. `kata show dpo` states the problem."
    dave = kata(person(doc, "dave"), "dpo")
    failure = suites[3].findall("testcase")[1].find("failure")
    names = failed_names(dave)
    assert failure.get("message") == f"{len(names)} failing check{'s' if len(names) > 1 else ''}: {', '.join(names)}"
    assert failure.text == "\n".join(f"{c['name']}: {c['message']}" for c in dave["checks"] if c["name"] in names)
    assert "known mistake 'sign flipped'" in failure.text


# ------------------------------------------------------------------ exit codes
def test_all_pass_exits_0(tmp_path):
    dirs = []
    for name in ("ann", "ben"):
        ws = tmp_path / name
        ws.mkdir()
        for k in KATAS:
            (ws / f"{k}.py").write_text(solution_source(k))
        dirs.append(str(ws))
    result = CliRunner().invoke(main, ["report", *dirs, *kata_args(), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 / 2 people pass every kata  ·  seed 1 (reproduce with --seed 1)"


@pytest.mark.parametrize("make_bad", ["file", "missing", "csv_folder"])
def test_usage_errors_exit_2(tmp_path, make_bad):
    ws = tmp_path / "ann"
    ws.mkdir()
    args = ["report", str(ws)]
    if make_bad == "file":
        (tmp_path / "notes.txt").write_text("")
        args.append(str(tmp_path / "notes.txt"))
    elif make_bad == "missing":
        args.append(str(tmp_path / "nobody"))
    else:
        args += ["--csv", str(tmp_path / "no-such-folder" / "out.csv")]
    start = time.monotonic()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert time.monotonic() - start < 1.0  # refused before anything was started


# ------------------------------------------------------------------ the engine underneath
def test_grade_many_keys_each_workspace_apart(tmp_path, sandbox, monkeypatch):
    """Same kata, different workspaces, one run: each report holds its own workspace's verdict,
    and the reference's runs are computed once per kata, not once per workspace."""
    calls = []
    original = FunctionSpec.expected
    monkeypatch.setattr(FunctionSpec, "expected", lambda self, ref, cases: calls.append(self.function)
                        or original(self, ref, cases))
    good, stub = tmp_path / "good", tmp_path / "stub"
    workspace.init(stub)
    good.mkdir()
    for k in KATAS:
        (good / f"{k}.py").write_text(solution_source(k))
    options = engine.Options(seed=2, device="cpu", limits=Limits(timeout=10))
    reports = engine.grade_many(KATAS, [stub, good, good, None], options, sandbox=sandbox)
    assert [[k.status for k in r.katas] for r in reports] == \
        [["not_started"] * 2, ["pass"] * 2, ["pass"] * 2, ["pass"] * 2]
    assert [r.workspace for r in reports] == [str(stub), str(good), str(good), "reference solutions"]
    assert sorted(calls) == sorted(spec_functions(KATAS))
    # grading one workspace is the one-workspace case of the same code
    one = engine.grade(KATAS, good, options, sandbox=sandbox)
    assert [k.to_dict() | {"seconds": 0} for k in one.katas] == [k.to_dict() | {"seconds": 0} for k in reports[1].katas]


def spec_functions(names):
    return [importlib.import_module(registry.get(n).spec).SPEC.function for n in names]
