"""`kata experiment ppo-clip`: PPO's clip on one rollout with plain SGD and with Adam, replayed with
the reference and with a candidate's own ppo_loss (run in the sandboxed child)."""
from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core import workspace
from grader.practice import experiment
from grader.practice.experiments import ppo_clip as pc
from tests.borrowed import lend
from tests.conftest import solution_source, unwrapped

WIDE = {"COLUMNS": "200"}
SPARK = re.compile(r"[▁▂▃▄▅▆▇█]{20,}")


@pytest.fixture
def runner(monkeypatch, sandbox):
    lend(monkeypatch, sandbox)
    return CliRunner(env=WIDE)


@pytest.fixture(scope="module")
def reference(sandbox):
    return experiment.run("ppo-clip", None, 200, 0, sandbox)


def test_reference_numbers_sgd_stops_past_the_bound_adam_overshoots(reference):
    assert reference.ok and reference.problems == [] and reference.warnings == []
    assert [(r.arm, pc.eps(r)) for r in reference.runs] == [("SGD", 0.1), ("SGD", 0.2), ("SGD", math.inf),
                                                            ("Adam", 0.1), ("Adam", 0.2), ("Adam", math.inf)]
    for r in reference.runs:
        assert [len(r.series[k]) for k in pc.SERIES] == [200, 200, 200]
    sgd = {pc.eps(r): r for r in reference.runs_of("SGD")}
    adam = {pc.eps(r): r for r in reference.runs_of("Adam")}
    for e in (0.1, 0.2):
        ratio = sgd[e].series["ratio"]
        assert 1 + e < ratio[-1] < 1 + e + 0.03  # one step past the bound ...
        assert ratio[20:] == [ratio[-1]] * 180  # ... and not a bit further: the gradient is exactly 0
        assert adam[e].series["ratio"][-1] > 1 + e + 0.3  # Adam's momentum carries it well past
        assert adam[e].series["kl"][-1] > 5 * sgd[e].series["kl"][-1]
    inf = sgd[math.inf].series["ratio"]
    assert all(b > a for a, b in zip(inf, inf[1:])) and 4.0 < inf[-1] < 5.0  # towards 1/π_old = 5
    assert sgd[math.inf].series["clip_fraction"] == [0.0] * 200  # nothing is clipped at ε = inf
    assert [f.holds for f in reference.findings] == [True, True, True, True]
    assert [f.text.split(":")[0] for f in reference.findings] == ["SGD", "SGD, ε = ∞", "Adam, same clip",
                                                                   "What the clip guarantees"]


def test_cli_reference_table_curves_and_findings(runner):
    result = runner.invoke(main, ["experiment", "ppo-clip", "--reference"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("PPO's clip on one rollout: plain SGD vs Adam  ·  reference solutions  ·  200 steps, "
                        "seed 0, lr SGD 0.1, Adam 0.03, β1 Adam 0.9")
    rows = [line.split() for line in lines if re.match(r"(SGD|Adam) +(0\.1|0\.2|∞) ", line)]
    assert [(r[0], r[1], r[2]) for r in rows] == [("SGD", "0.1", "1.1"), ("SGD", "0.2", "1.2"), ("SGD", "∞", "—"),
                                                  ("Adam", "0.1", "1.1"), ("Adam", "0.2", "1.2"), ("Adam", "∞", "—")]
    blocks = [i for i, line in enumerate(lines) if line.endswith("one scale for all runs:")]
    assert len(blocks) == 3
    sgd_block, adam_block = lines[blocks[0] + 1: blocks[1]], lines[blocks[1] + 1: blocks[2]]
    assert [line.split()[:2] for line in sgd_block] == [["SGD", "ε=0.1"], ["SGD", "ε=0.2"], ["SGD", "ε=∞"]]
    assert [line.split()[:2] for line in adam_block] == [["Adam", "ε=0.1"], ["Adam", "ε=0.2"], ["Adam", "ε=∞"]]
    kl = [line for line in lines[blocks[2] + 1:] if SPARK.search(line)]
    assert len(kl) == 6 and all(SPARK.search(line) for line in sgd_block + adam_block)
    assert sum(line.startswith("✓ ") for line in lines) == 4 and not any(line.startswith("✗ ") for line in lines)


def test_the_candidates_own_ppo_loss_from_the_workspace(runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "ppo.py").write_text(solution_source("ppo"))
    result = runner.invoke(main, ["experiment", "ppo-clip", "--path", str(ws), "--steps", "60"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert str(ws) in first and "60 steps" in first
    assert sum(line.startswith("✓ ") for line in result.output.splitlines()) == 4


def test_a_stub_is_refused_with_the_way_out(runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    result = runner.invoke(main, ["experiment", "ppo-clip", "--path", str(ws), "--steps", "20"])
    assert result.exit_code == 1
    for arm in ("SGD", "Adam"):
        assert unwrapped(f"error: {arm}: {ws / 'ppo.py'} is still a stub: solve the ppo kata first, or add --reference.") \
            in unwrapped(result.output)


def test_a_wrong_ppo_loss_shows_in_the_findings(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    wrong = solution_source("ppo").replace("torch.maximum(unclipped, clipped)", "torch.minimum(unclipped, clipped)")
    assert wrong != solution_source("ppo")
    (ws / "ppo.py").write_text(wrong)  # the min of the negated terms: never clips
    result = experiment.run("ppo-clip", ws, 60, 0, sandbox)
    assert result.ok  # it trains; what it shows is wrong
    sgd = {pc.eps(r): r for r in result.runs_of("SGD")}
    assert sgd[0.1].series["ratio"][-1] > 1.5  # ε = 0.1 no longer stops the ratio
    holds = {f.text.split(":")[0]: f.holds for f in result.findings}
    assert holds["SGD"] is False and holds["What the clip guarantees"] is False


def test_errors_in_the_candidates_code_are_reported_per_run(sandbox, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "ppo.py").write_text("def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,\n"
                               "             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):\n"
                               "    if clip_eps == float('inf'):\n"
                               "        raise ValueError('clip_eps must be finite')\n"
                               "    from solutions_copy import nothing\n")
    result = experiment.run("ppo-clip", ws, 20, 0, sandbox)
    assert not result.ok and result.problems == []
    errors = {(r.arm, pc.eps_text(r)): r.error for r in result.runs}
    assert errors[("SGD", "∞")].startswith("ValueError: clip_eps must be finite")
    assert errors[("Adam", "0.1")].startswith("ModuleNotFoundError")
    assert result.findings == []  # nothing trained, nothing claimed


def test_png_with_matplotlib(runner, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (the optional 'plot' extra) is not installed")
    png = tmp_path / "ppo.png"
    result = runner.invoke(main, ["experiment", "ppo-clip", "--reference", "--steps", "40", "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert unwrapped(result.output).endswith(unwrapped(f"Wrote {png}"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_negative_ratios_or_kl_are_malformed():
    from grader.practice.experiments.record import Run

    good = Run("SGD", {"clip_eps": 0.2}, {"ratio": [1.0, 1.1], "kl": [0.0, 0.01], "clip_fraction": [0.0, 0.2]})
    assert pc.ratios_are_positive(good) == ""
    for bad in ({"ratio": [1.0, -1.1]}, {"ratio": [0.0, 1.1]}, {"kl": [0.0, -0.5]}):
        run = Run("SGD", {"clip_eps": 0.2}, {**good.series, **bad})
        assert pc.ratios_are_positive(run) == "a ratio at or below 0, or a negative KL"
