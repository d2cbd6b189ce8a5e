"""A cohort's results are judged as each child exits, while the others run (engine._EarlyJudge):
the verdicts are exactly those of judging after the run, each child is judged once, and a
verdict is dropped when what decided it changed (a rerun, a folder that grew, the disk filler)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.core import engine
from grader.sandbox.pool import Job, Limits, Outcome
from tests.conftest import MISTAKES, VARIANTS, solution_source


def cohort(tmp_path: Path) -> list[Path]:
    sources = [solution_source("dpo"), "def dpo_loss(:\n", "raise SystemExit(3)\n",
               "import torch\n\ndef dpo_loss(*a, **k):\n    raise NotImplementedError\n"]
    sources += [p.read_text() for p in sorted((MISTAKES / "dpo").glob("*.py"))[:4]]
    sources += [p.read_text() for p in sorted((VARIANTS / "dpo").glob("*.py"))[:2]]
    out = []
    for i, source in enumerate(sources):
        ws = tmp_path / f"p{i}"
        ws.mkdir()
        (ws / "dpo.py").write_text(source)
        out.append(ws)
    return out


def verdicts(reports) -> list:
    return [[(k.name, k.status, k.message, [(c.name, c.status, c.message, c.mistake) for c in k.checks])
             for k in r.katas] for r in reports]


def test_judging_as_children_exit_gives_the_verdicts_of_judging_after(tmp_path, sandbox, monkeypatch):
    workspaces = cohort(tmp_path)
    options = engine.Options(seed=4, device="cpu")
    calls = []
    judge = engine._judge
    monkeypatch.setattr(engine, "_judge", lambda *a: calls.append(a[1].job.id) or judge(*a))
    early = engine.grade_many(["dpo"], workspaces, options, sandbox)
    assert sorted(calls) == sorted(set(calls)), calls  # each child judged once, while the others ran
    assert len(calls) == 9  # the syntax error is refused before any child runs
    monkeypatch.setattr(engine._EarlyJudge, "__call__", lambda self, outcome: None)
    after = engine.grade_many(["dpo"], workspaces, options, sandbox)
    assert verdicts(early) == verdicts(after)
    statuses = [r.katas[0].status for r in early]
    assert statuses[:4] == ["pass", "error", "error", "not_started"] and statuses[4:8] == ["fail"] * 4
    assert statuses[8:] == ["pass", "pass"]


def test_a_verdict_is_dropped_when_what_decided_it_changed(tmp_path, monkeypatch):
    job = Job(id="0/dpo", kata="dpo", dir=str(tmp_path), file=str(tmp_path / "dpo.py"), cases="", result="",
              log=str(tmp_path / "output.log"), seed=0, cuda="off", limits=Limits())
    (tmp_path / "result.bin").write_bytes(b"x" * 100)
    judged = []
    monkeypatch.setattr(engine, "_judge", lambda plan, outcome, options: judged.append(outcome) or "verdict")
    plan = SimpleNamespace(kata=SimpleNamespace(name="dpo"))
    faults: dict = {}
    early = engine._EarlyJudge({"0/dpo": plan}, faults, engine.Options())
    for ending in (Outcome(job, code=1), Outcome(job, signal=9), Outcome(job, code=None)):
        early(ending)  # a child that did not exit cleanly is judged after the run, with the rest
    assert judged == []
    faults["dpo"] = "the reference run failed"
    early(Outcome(job, code=0))  # a kata the grader cannot grade: its fault is the verdict, after the run
    assert judged == []
    del faults["dpo"]
    outcome = Outcome(job, code=0)
    early(outcome)
    assert judged == [outcome]
    outcome.disk = early.judged["0/dpo"][1]
    assert early.result(outcome) == "verdict"
    assert early.result(Outcome(job, code=0, disk=outcome.disk)) is None  # a rerun is judged again
    outcome.disk += 1
    assert early.result(outcome) is None  # its folder changed after it was judged
    outcome.disk -= 1
    outcome.filled_disk = True
    assert early.result(outcome) is None  # it filled the disk under the others
    big = Outcome(dataclasses.replace(job, id="1/dpo"), code=0)
    early = engine._EarlyJudge({"1/dpo": plan}, {}, engine.Options(limits=Limits(disk_cap=10)))
    early(big)
    assert early.judged == {}  # more than the disk cap: that ending is decided after the run


def test_the_reference_runs_are_computed_after_the_first_jobs_are_handed_out(tmp_path, monkeypatch, sandbox):
    """The reference's runs (the grader's first backward imports ~0.4 s of torch) are computed
    while the zygote finishes starting and the first children run, not before they are sent."""
    from grader.sandbox.pool import Sandbox

    order: list[str] = []
    hand_out, prepare = Sandbox._hand_out, engine._Plan.prepare

    def handed(self, pending, running, parallel):
        if pending:
            order.append("handed")
        return hand_out(self, pending, running, parallel)

    def prepared(self):
        if self.expected is None:
            order.append("prepared")
        return prepare(self)

    monkeypatch.setattr(Sandbox, "_hand_out", handed)
    monkeypatch.setattr(engine._Plan, "prepare", prepared)
    workspaces = cohort(tmp_path)[:1]
    report = engine.grade_many(["dpo"], workspaces, engine.Options(seed=0), sandbox)[0]
    assert report.katas[0].status == "pass"
    assert order[:2] == ["handed", "prepared"] and order.count("prepared") == 1, order


def test_meanwhile_runs_once_after_the_first_hand_out(tmp_path, sandbox):
    from grader.sandbox import plain

    calls: list[int] = []
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "dpo.py").write_text(solution_source("dpo"))
    cases = job_dir / "cases.bin"
    plain.dump([], str(cases))
    job = Job(id="m/dpo", kata="dpo", dir=str(job_dir), file=str(job_dir / "dpo.py"), cases=str(cases),
              result=str(job_dir / "result.bin"), log=str(job_dir / "output.log"), seed=0, cuda="off",
              limits=Limits())
    outcomes = sandbox.run([job], 1, meanwhile=lambda: calls.append(len(calls)))
    assert calls == [0] and outcomes[0].code is not None


@pytest.mark.own_sandbox
@pytest.mark.parametrize("preloaded", [[], ["gae"]])
def test_the_zygote_imports_the_specs_of_the_katas_a_run_names(tmp_path, preloaded):
    """A kata's spec is imported by the zygote before that kata's first child (children never read
    grader files), and a run's katas as soon as it names them (Sandbox.preload): a child sees
    what its zygote had imported, and nothing more."""
    from grader.sandbox.pool import Sandbox

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "dpo.py").write_text("import sys\nprint('loaded:', sorted(m for m in sys.modules if m.startswith("
                               "'grader.catalog.') and m.endswith('.spec')))\n" + solution_source("dpo"))
    with Sandbox.start() as sandbox:
        sandbox.preload(preloaded)
        result = engine.grade_many(["dpo"], [ws], engine.Options(seed=0), sandbox)[0].katas[0]
    assert result.status == "pass"
    expected = sorted(f"grader.catalog.{k}.spec" for k in {"dpo", *preloaded})
    assert f"loaded: {expected}" in result.output, result.output


def test_a_childs_time_is_the_zygotes_clock_within_the_time_since_its_job_was_sent():
    """The grader may read a child's `started` event only after it exited (busy with the
    reference runs meanwhile): its time is then the zygote's, from fork to reaping, never a
    negative difference of two clocks read in the wrong order; a forged figure is not believed."""
    from grader.sandbox.pool import _child_seconds, _Running

    job = Job(id="0/dpo", kata="dpo", dir="", file="", cases="", result="", log="", seed=0, cuda="off",
              limits=Limits())
    r = _Running(job, sent=100.0)
    assert _child_seconds(0.25, r, now=101.0) == 0.25
    assert _child_seconds(5.0, r, now=101.0) == 0.0  # longer than since its job was sent: forged
    assert _child_seconds(-1.0, r, now=101.0) == 0.0 and _child_seconds(float("nan"), r, now=101.0) == 0.0
    assert _child_seconds(None, r, now=101.0) == 0.0  # no figure, no `started` seen
    r.started = 100.5
    assert _child_seconds(None, r, now=101.0) == 0.5
