"""Behaviour details have one schema for every kata (grader/checks/details.py), and the
renderer titles curves from its fields, never from key names."""
from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from grader import registry, render
from grader.checks.details import curve, details, label, series
from grader.core import engine
from grader.core.results import CheckResult, KataResult
from grader.sandbox.pool import Limits


@pytest.fixture(scope="module")
def reference(sandbox):
    return engine.grade(registry.names(), None, engine.Options(seed=1, device="cpu", limits=Limits()), reference=True,
                        sandbox=sandbox)


def test_every_behaviour_check_follows_the_schema(reference):
    behaviours = {k.name: c for k in reference.katas for c in k.checks if c.name == "behaviour" and c.status != "skip"}
    assert behaviours, "no kata has a behaviour run"
    for name, c in behaviours.items():
        d = c.details
        assert set(d) == {"series", "judged"}, (name, set(d))
        json.dumps(d, allow_nan=False)  # strict JSON: a program can read it
        for s in d["series"]:
            assert set(s) == {"name", "param", "x", "values"}, (name, s)
            assert isinstance(s["name"], str) and isinstance(s["param"], dict) and s["x"] in ("step", "epoch")
            assert 2 < len(s["values"]) <= 40 and all(isinstance(v, float) for v in s["values"])
        names = [(s["name"], tuple(sorted(s["param"].items()))) for s in d["series"]]
        assert len(names) == len(set(names)), f"{name}: two curves share a name and parameters"
        assert all(isinstance(v, (int, float, str, list)) for v in d["judged"].values())
    assert curve(behaviours["dpo"].details, "π(y_l)", β=0.1)[-1] < curve(behaviours["dpo"].details, "π(y_l)", β=0.1)[0]


def test_curves_are_titled_from_name_and_param():
    assert label(series("π(y_l)", [1, 2, 3], β=0.1)) == "π(y_l) β=0.1"
    assert label(series("r0 - r3", [1, 2, 3], x="epoch")) == "r0 - r3"
    found = details([series("π(y_l)", [0.03, 0.02, 0.01], β=0.5), series("h", [0.0, 1.0, 2.0], β=0.5)], final=0.01)
    check = CheckResult("behaviour", "pass", "ok", details=found)
    con = Console(file=io.StringIO(), width=80)
    render.kata_result(con, KataResult("dpo", "pass", [check]))
    lines = con.file.getvalue().splitlines()
    drawn = [line.split()[:2] for line in lines if "▁" in line or "█" in line]
    assert drawn == [["π(y_l)", "β=0.5"], ["h", "β=0.5"]]
    assert all(len(line) <= 80 for line in lines)


def test_the_renderer_reads_fields_and_ignores_other_shapes():
    """A key that looks like a curve is not parsed into one; a malformed series is skipped, not a crash."""
    odd = {"pi_rejected_beta_0.1": [0.3, 0.2, 0.1], "series": [{"name": "x", "values": "nope"}], "judged": {}}
    con = Console(file=io.StringIO(), width=80)
    render.kata_result(con, KataResult("dpo", "pass", [CheckResult("behaviour", "pass", "ok", details=odd)]))
    assert "curves" not in con.file.getvalue()
