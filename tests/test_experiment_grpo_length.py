"""`kata experiment grpo-length`: GRPO's per-token length weighting and the drift of wrong answers'
length, with the reference and with a candidate's grpo_loss (run in the sandboxed child)."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core import workspace
from grader.practice import experiment
from grader.practice.experiments import grpo_length as gl
from tests.borrowed import lend
from tests.conftest import MISTAKES, VARIANTS, solution_source, unwrapped


@pytest.fixture
def runner(monkeypatch, sandbox):
    lend(monkeypatch, sandbox)
    return CliRunner(env={"COLUMNS": "80"})


@pytest.fixture(scope="module")
def reference(sandbox):
    return experiment.run("grpo-length", None, 200, 0, sandbox)


def test_reference_weights_are_the_normalisers(reference):
    assert reference.ok and reference.problems == [] and reference.warnings == []
    assert [(r.arm, gl.loss_type(r)) for r in reference.runs] == [("GRPO", "grpo"), ("GRPO", "bnpo"),
                                                                  ("GRPO", "dr_grpo")]
    grpo, bnpo, dr = reference.runs
    b, t = len(gl.LENGTHS), max(gl.LENGTHS)
    # In units of 1/(B·T): T/L under "grpo", B·T/ΣL under "bnpo", 1 under "dr_grpo".
    assert grpo.series["weight"] == pytest.approx([t / n for n in gl.LENGTHS], rel=1e-5)
    assert bnpo.series["weight"] == pytest.approx([b * t / sum(gl.LENGTHS)] * b, rel=1e-5)
    assert dr.series["weight"] == pytest.approx([1.0] * b, rel=1e-5)
    for r in reference.runs:
        assert len(r.series["wrong_length"]) == len(r.series["right_length"]) == 200


def test_reference_wrong_answers_grow_under_grpo_only(reference):
    grpo, bnpo, dr = reference.runs
    start = grpo.series["wrong_length"][0]
    assert start == pytest.approx(6.47, abs=0.01)  # a stop probability of σ(-1.5) = 0.18 per token
    assert all(r.series["wrong_length"][0] == start for r in reference.runs)  # the same start
    assert gl.moved(grpo, "wrong_length") > 1.5 and gl.moved(grpo, "right_length") < -3.0
    assert abs(gl.moved(dr, "wrong_length")) < 0.2 and abs(gl.moved(dr, "right_length")) < 0.3
    wrong = grpo.series["wrong_length"]
    assert wrong[100] > wrong[50] > wrong[0]  # a steady drift, not one jump
    assert [f.holds for f in reference.findings] == [True, True, True]
    assert reference.findings[0].text.startswith("Per-token gradient weight of a 2-token completion over a "
                                                 "32-token one: \"grpo\" 16.00×, \"bnpo\" 1.00×, \"dr_grpo\" 1.00×")
    assert reference.findings[1].text.startswith("Mean length of wrong answers (\"grpo\" 6.47 → 8.")


def test_cli_reference_at_80_columns(runner):
    result = runner.invoke(main, ["experiment", "grpo-length", "--reference"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert lines[0].startswith("GRPO's length bias: per-token weights and the length of wrong answers")
    rows = [line.split() for line in lines if re.match(r"(grpo|bnpo|dr_grpo) +\d", line)]
    assert [(r[0], r[1], r[2]) for r in rows] == [("grpo", "16.000", "1.000"), ("bnpo", "1.882", "1.882"),
                                                  ("dr_grpo", "1.000", "1.000")]
    assert sum(line.startswith("✓ ") for line in lines) == 3 and not any(line.startswith("✗ ") for line in lines)
    assert sum(bool(re.search(r"[▁▂▃▄▅▆▇█]{20,}", line)) for line in lines) == 9  # 3 curves × 3 runs


def test_a_candidate_grpo_loss_from_the_workspace(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "grpo.py").write_text((VARIANTS / "grpo" / "row_loop.py").read_text())
    result = experiment.run("grpo-length", ws, 200, 0, sandbox)
    assert result.ok and result.source == str(ws)
    assert [f.holds for f in result.findings] == [True, True, True]


def test_a_wrong_normaliser_shows_in_the_findings(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "grpo.py").write_text((MISTAKES / "grpo" / "grpo_padded_length.py").read_text())  # "grpo" over T
    result = experiment.run("grpo-length", ws, 200, 0, sandbox)
    assert result.ok
    grpo = result.runs[0]
    assert grpo.series["weight"] == pytest.approx([1.0] * len(gl.LENGTHS), rel=1e-5)  # no 1/|o_i| any more
    assert [f.holds for f in result.findings] == [False, False, False]
    assert "\"grpo\" 1.00×" in result.findings[0].text


def test_an_unsolved_or_failing_grpo_is_reported(runner, sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    stub = runner.invoke(main, ["experiment", "grpo-length", "--path", str(ws), "--steps", "20"])
    assert stub.exit_code == 1
    assert unwrapped(f"error: GRPO: {ws / 'grpo.py'} is still a stub: solve the grpo kata first, or add --reference.") \
        in unwrapped(stub.output)
    (ws / "grpo.py").write_text(solution_source("grpo").replace(
        '    if loss_type == "grpo":', '    if loss_type == "bnpo":\n        raise RuntimeError("no bnpo here")\n'
        '    if loss_type == "grpo":'))
    result = experiment.run("grpo-length", ws, 20, 0, sandbox)
    assert not result.ok and result.problems == []
    assert [r.error.split(" (at ")[0] for r in result.runs] == ["", "RuntimeError: no bnpo here", ""]
    assert len(result.findings) == 3  # the runs that trained still have their findings


def test_malformed_child_results_are_refused(tmp_path):
    from grader.sandbox import plain
    from grader.sandbox.pool import Job, Limits, Outcome

    exp = experiment.EXPERIMENTS["grpo-length"]
    arm = exp.arms[0]
    good = {"weight": [1.0] * len(gl.LENGTHS), "wrong_length": [6.0, 6.5], "right_length": [6.0, 5.0]}
    short_weight = dict(good, weight=[1.0] * 5)
    too_long = dict(good, wrong_length=[6.0, 40.0])
    result = tmp_path / "result.bin"
    plain.dump({"runs": [{"series": s} for s in (good, short_weight, too_long)]}, str(result))
    job = Job(id="0", kata="grpo", dir=str(tmp_path), file="", cases="", result=str(result), log="", seed=0,
              cuda="off", limits=Limits())
    runs, problem = experiment._read(exp, arm, Outcome(job, code=0), steps=2)
    assert problem == ""
    assert [r.error for r in runs] == ["", "malformed results", "malformed results"]


def test_png_with_matplotlib(runner, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (the optional 'plot' extra) is not installed")
    png = tmp_path / "length.png"
    result = runner.invoke(main, ["experiment", "grpo-length", "--reference", "--steps", "30", "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert unwrapped(result.output).endswith(unwrapped(f"Wrote {png}"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
