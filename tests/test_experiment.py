"""`kata experiment dpo-vs-ipo`: the seeds' DPO vs IPO experiment, replayed with the references
and with a candidate's own losses (run in the sandboxed child, never in the CLI's process)."""
from __future__ import annotations

import math
import os
import re
import sys

import pytest
from click.testing import CliRunner

from grader.practice import experiment
from grader.practice.experiments import dpo_vs_ipo as dvi
from grader import registry
from grader.core import workspace
from grader.cli import main
from tests.borrowed import lend
from tests.conftest import solution_source, unwrapped

pytestmark = pytest.mark.skipif("ipo" not in registry.KATAS, reason="the ipo kata is not in the registry yet")
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def runner(monkeypatch, sandbox):
    lend(monkeypatch, sandbox)
    return CliRunner(env=WIDE)


@pytest.fixture(scope="module")
def reference(sandbox):
    return experiment.run("dpo-vs-ipo", None, 200, 0, sandbox)


def test_reference_numbers_dpo_keeps_falling_ipo_stops_at_its_target(reference):
    assert reference.ok and reference.problems == [] and reference.warnings == []
    assert [(r.arm, dvi.beta(r)) for r in reference.runs] == [("DPO", 0.1), ("DPO", 0.5),
                                                              ("IPO", 0.1), ("IPO", 0.5), ("IPO", 1.0)]
    for r in reference.runs:
        assert len(r.series["logp_rejected"]) == len(r.series["h_mean"]) == 200
    dpo, ipo = reference.runs_of("DPO"), reference.runs_of("IPO")
    for r in dpo:
        lp = r.series["logp_rejected"]
        assert all(b < a for a, b in zip(lp[100:], lp[101:])), f"DPO β={dvi.beta(r)}: π(y_l) stopped falling"
        assert dvi.still_falling(r) and dvi.target(r) is None
        assert dvi.final_pi_rejected(r) < 0.2 * dvi.pi_rejected(r)[0]
    assert dvi.final_pi_rejected(dpo[0]) < dvi.final_pi_rejected(dpo[1])  # a smaller β falls faster
    for r in ipo:
        assert dvi.target(r) == pytest.approx(1 / (2 * dvi.beta(r)))
        assert dvi.final_h(r) == pytest.approx(dvi.target(r), abs=1e-3), f"IPO β={dvi.beta(r)}: h ends at {dvi.final_h(r)}"
        assert not dvi.still_falling(r)
        lp = r.series["logp_rejected"]
        assert abs(lp[-1] - lp[150]) < 1e-4  # π(y_l) has stopped
    finals = [dvi.final_pi_rejected(r) for r in ipo]
    assert finals == sorted(finals)  # larger β, higher π(y_l)
    assert [(f.text.split(":")[0], f.holds) for f in reference.findings] == [("DPO", True), ("IPO", True), ("IPO", True)]


def test_cli_reference_table_curves_and_findings(runner):
    result = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--reference"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("DPO vs IPO on the toy preference problem  ·  reference solutions  ·  200 steps, seed 0, "
                        "lr DPO 2, IPO 0.1")
    rows = [line.split() for line in lines if re.match(r"(DPO|IPO) +[\d.]+ +[\d.]+ ", line)]
    assert [(r[0], r[1], r[5]) for r in rows] == [("DPO", "0.1", "—"), ("DPO", "0.5", "—"), ("IPO", "0.1", "5"),
                                                  ("IPO", "0.5", "1"), ("IPO", "1", "0.5")]
    assert [r[4] for r in rows[2:]] == ["5.000", "1.000", "0.500"]  # final h = 1/(2β)
    curves = [line for line in lines if re.match(r" (DPO|IPO) β=", line)]
    assert len(curves) == 10  # π(y_l) and h for each of the 5 runs
    assert all(re.search(r"[▁▂▃▄▅▆▇█]{20,}", line) for line in curves)
    assert sum(line.startswith("✓ ") for line in lines) == 3 and not any(line.startswith("✗ ") for line in lines)


def test_candidate_losses_from_the_workspace_with_an_unsolved_ipo(runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    result = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--path", str(ws), "--steps", "60"])
    assert result.exit_code == 1
    assert unwrapped(f"error: IPO: {ws / 'ipo.py'} is still a stub: solve the ipo kata first, or add --reference.") \
        in unwrapped(result.output)
    header = unwrapped(result.output.split("error:")[0])
    assert "60steps" in header and unwrapped(str(ws)) in header
    row = r"^{} +[0-9.]+ +[0-9.]+ "  # a row of the table: the loss, β, π(y_l) at the start
    assert re.search(row.format("DPO"), result.output, re.M) and not re.search(row.format("IPO"), result.output, re.M)


def test_candidate_code_runs_in_the_child_and_its_errors_are_reported(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    (ws / "ipo.py").write_text("import os\n\n\ndef ipo_loss(pc, pr, rc, rr, mc, mr, beta=0.1):\n"
                               "    raise RuntimeError(f'ran in process {os.getpid()}')\n")
    result = experiment.run("dpo-vs-ipo", ws, 20, 0, sandbox)
    assert not result.ok and result.problems == []
    errors = [r.error for r in result.runs_of("IPO")]
    assert len(errors) == 3 and all(e.startswith("RuntimeError: ran in process ") for e in errors)
    pid = int(errors[0].split()[4])
    assert pid not in (os.getpid(), sandbox.proc.pid)  # a child of the sandbox, not this process or the zygote
    assert all(not r.error for r in result.runs_of("DPO"))
    assert [f.text.split(":")[0] for f in result.findings] == ["DPO"]  # no IPO finding without IPO runs


def test_a_wrong_ipo_shows_in_the_findings(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(solution_source("dpo"))
    (ws / "ipo.py").write_text(solution_source("ipo").replace("1 / (2 * beta)", "1 / beta"))  # target 1/β
    result = experiment.run("dpo-vs-ipo", ws, 200, 0, sandbox)
    assert result.ok
    assert [dvi.final_h(r) for r in result.runs_of("IPO")] == pytest.approx([10.0, 2.0, 1.0], abs=1e-2)
    holds = {f.text.split("(")[0].strip(): f.holds for f in result.findings}
    assert holds["IPO: h ends at its target 1/"] is False


def test_unknown_experiment_and_missing_workspace_are_usage_errors(runner, tmp_path):
    unknown = runner.invoke(main, ["experiment", "dpo-vs-kto", "--reference"])
    known = ", ".join(experiment.EXPERIMENTS)  # every record's name, dpo-vs-ipo among them
    assert "dpo-vs-ipo" in experiment.EXPERIMENTS
    assert unknown.exit_code == 2 and f"unknown experiment 'dpo-vs-kto'. Known experiments: {known}." in unknown.output
    missing = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--path", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no workspace at" in missing.output


def test_png_without_matplotlib_says_how_to_install_it(runner, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    result = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--reference", "--png", str(tmp_path / "c.png")])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --png needs matplotlib, an optional extra: pip install 'dpo-kata[plot]' "
                                     "(or pip install matplotlib).")
    assert not (tmp_path / "c.png").exists()


def test_png_into_a_missing_folder_is_a_usage_error_before_any_training(runner, tmp_path):
    png = tmp_path / "no-such-folder" / "c.png"
    result = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--reference", "--png", str(png)])
    assert result.exit_code == 2, result.output
    assert f"cannot write '{png}': its folder does not exist." in result.stderr
    assert result.stdout == ""  # refused before anything was trained


def test_png_with_matplotlib(runner, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (the optional 'plot' extra) is not installed")
    png = tmp_path / "curves.png"
    result = runner.invoke(main, ["experiment", "dpo-vs-ipo", "--reference", "--steps", "50", "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert unwrapped(result.output).endswith(unwrapped(f"Wrote {png}"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


# ------------------------------------------------------------------ curves as drawn in reports
def test_sparkline_levels_clipping_and_broken_values():
    from grader.render import sparkline

    assert sparkline(range(8)) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([0, float("nan"), 1, float("inf")]) == "▁×█×"
    assert sparkline([-1, 0.5, 3], lo=0, hi=1) == "▁▅█"  # a shared scale clips


def test_curves_fit_one_line_each_with_a_log_scale_for_probabilities():
    import io
    import math

    from rich.console import Console

    from grader import render

    falling = [0.03 * math.exp(-k / 20) for k in range(150)]  # a probability falling towards 0
    margin = [k / 10 for k in range(150)]
    con = Console(file=io.StringIO(), width=80)
    render.curves(con, {"π(y_l) β=0.1": falling, "h": margin})
    lines = con.file.getvalue().splitlines()
    assert len(lines) == 2 and all(len(line) <= 80 for line in lines)
    assert lines[0].split()[:4] == ["π(y_l)", "β=0.1", "(log)", "0.03"]
    assert lines[1].split()[:2] == ["h", "0"] and lines[1].split()[-1] == "14.9"
    spark = lines[0].split()[4]
    assert spark[0] == "█" and spark[-1] == "▁" and len(set(spark)) == 8  # on a log scale it keeps falling


def test_results_of_the_wrong_length_or_sign_are_malformed(tmp_path):
    """A child's results are not trusted: a curve must have one value per step, log-probs <= 0."""
    from grader.sandbox import plain
    from grader.sandbox.pool import Job, Limits, Outcome

    exp = experiment.EXPERIMENTS["dpo-vs-ipo"]
    arm = next(a for a in exp.arms if a.kata == "ipo")  # three runs
    good = {"logp_rejected": [-3.0, -3.5], "logp_chosen": [-3.0, -2.5], "h_mean": [0.0, 1.0]}
    short = dict(good, h_mean=[0.0])
    positive = dict(good, logp_chosen=[-3.0, 2.5])
    result = tmp_path / "result.bin"
    plain.dump({"runs": [{"series": s} for s in (good, short, positive)]}, str(result))
    job = Job(id="1", kata="ipo", dir=str(tmp_path), file="", cases="", result=str(result), log="", seed=0,
              cuda="off", limits=Limits())
    runs, problem = experiment._read(exp, arm, Outcome(job, code=0), steps=2)
    assert problem == ""
    assert [r.error for r in runs] == ["", "malformed results", "malformed results"]
    assert runs[0].trained and not runs[1].trained and not runs[2].trained
    assert dvi.pi_rejected(runs[0]) == pytest.approx([math.exp(-3.0), math.exp(-3.5)])


def test_a_child_ends_with_the_engine_s_messages(tmp_path):
    """One message for each way a child can end, shared with the engine (grader.core.outcomes)."""
    from grader.core import outcomes
    from grader.sandbox.pool import Job, Limits, Outcome

    exp = experiment.EXPERIMENTS["dpo-vs-ipo"]
    arm = exp.arms[0]
    job = Job(id="0", kata="dpo", dir=str(tmp_path), file="", cases="", result=str(tmp_path / "none.pt"), log="",
              seed=0, cuda="off", limits=Limits(timeout=3))
    for outcome in (Outcome(job, signal=11), Outcome(job, timed_out=True), Outcome(job, code=0), Outcome(job, lost="x")):
        runs, problem = experiment._read(exp, arm, outcome, steps=2)
        ending = outcomes.ended(outcome, job.limits) or outcomes.load(outcome)[1]
        assert runs == [] and problem == ending.message
    assert experiment._read(exp, arm, Outcome(job, signal=11), 2)[1] == \
        "the submission's process crashed with SIGSEGV (segmentation fault)."


def test_every_experiment_record_names_registered_katas_and_functions():
    for exp in experiment.EXPERIMENTS.values():
        assert exp.arms and exp.columns and exp.curves and exp.series
        for arm in exp.arms:
            assert arm.kata in registry.KATAS, f"{exp.name}: no kata {arm.kata!r}"
            assert arm.function in registry.get(arm.kata).entry, f"{exp.name}: {arm.kata} has no {arm.function}"
            assert arm.runs, f"{exp.name}: arm {arm.label} has no runs"


def test_png_figure_is_readable_without_the_table(reference):
    """Axis labels on both panels, a label at every decade of π(y_l) (DPO's end value can be read),
    IPO's 1/(2β) targets in the legend, and the learning rates in the title."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from grader.practice.experiment import figure

    fig = figure(reference)
    try:
        left, right = fig.axes
        assert left.get_ylabel() == "π(y_l) (log scale)" and right.get_ylabel() == "h (nats per token)"
        fig.canvas.draw()
        lo, hi = left.get_ylim()
        labelled = [t for t in left.yaxis.get_major_ticks() if t.label1.get_text() and lo <= t.get_loc() <= hi]
        decades = math.floor(math.log10(hi)) - math.ceil(math.log10(lo)) + 1
        assert decades >= 3 and len(labelled) == decades  # every decade in view is labelled
        dpo_end = min(dvi.final_pi_rejected(r) for r in reference.runs if r.arm == "DPO")
        assert lo <= dpo_end  # and DPO's end value is inside the axis
        legend = [t.get_text() for t in right.get_legend().get_texts()]
        for r in reference.runs:
            if dvi.target(r) is not None:
                assert f"1/(2β) = {dvi.target(r):g} (β={dvi.beta(r):g})" in legend
        assert fig._suptitle.get_text().endswith(", lr DPO 2, IPO 0.1)")
    finally:
        plt.close(fig)
