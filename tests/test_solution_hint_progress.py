"""Hints in levels, progress in `kata list` and `kata grade`, and `kata solution`'s lock, through the CLI."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader import registry
from grader.core import workspace
from grader.cli import main
from tests.borrowed import lend
from tests.conftest import solution_source

DPO = registry.get("dpo")
WIDE = {"COLUMNS": "1000"}  # one line per row and per hint: the tests compare whole lines


@pytest.fixture
def runner():
    return CliRunner(env=WIDE)


@pytest.fixture
def ws(tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    return ws


@pytest.fixture
def lent(monkeypatch, sandbox):
    return lend(monkeypatch, sandbox)


def hint_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Hint ")]


def state_of(ws) -> dict:
    return json.loads((ws / ".kata" / "state.json").read_text())


LABELS = ("concept", "shape of the computation", "exact formula")


def expected_hint(i: int) -> str:
    """The hint's first line; a hint that is code follows on lines of its own (one statement a line)."""
    from grader.render import is_code

    return f"Hint {i + 1}/3 ({LABELS[i]}):" + ("" if is_code(DPO.hints[i]) else f" {DPO.hints[i]}")


# ------------------------------------------------------------------ hints
def test_each_hint_call_reveals_one_more_level_then_says_all_are_shown(runner, ws):
    assert len(DPO.hints) == 3
    for level in (1, 2, 3):
        result = runner.invoke(main, ["hint", "dpo", "--path", str(ws)])
        assert result.exit_code == 0, result.output
        assert hint_lines(result.output) == [expected_hint(i) for i in range(level)]
        again = f"Run `kata hint dpo --path {ws}` again for the next level, or add --all."
        assert (again in result.output) == (level < 3)
        assert "All hints are shown." not in result.output
        assert state_of(ws)["katas"]["dpo"]["hints"] == level
    fourth = runner.invoke(main, ["hint", "dpo", "--path", str(ws)])
    assert fourth.exit_code == 0
    assert hint_lines(fourth.output) == [expected_hint(i) for i in range(3)]
    assert fourth.output.splitlines()[-1] == "All hints are shown."
    assert state_of(ws) == {"version": 1, "katas": {"dpo": {
        "status": "", "hints": 3, "graded_at": 0.0, "passed_checks": 0, "total_checks": 0,
        "digest": ""}}}


def test_hint_all_reveals_every_level_at_once(runner, ws):
    result = runner.invoke(main, ["hint", "get_probs", "--all", "--path", str(ws)])
    assert result.exit_code == 0
    kata = registry.get("get_probs")
    assert len(hint_lines(result.output)) == len(kata.hints)
    assert state_of(ws)["katas"]["get_probs"]["hints"] == len(kata.hints)


def test_hints_used_are_in_a_later_grade_json_and_report(runner, ws, lent):
    for _ in range(2):
        runner.invoke(main, ["hint", "dpo", "--path", str(ws)])
    (ws / "dpo.py").write_text(solution_source("dpo").replace("-F.logsigmoid(beta * h)", "-F.logsigmoid(-beta * h)"))
    result = runner.invoke(main, ["grade", "dpo", "--json", "--seed", "0", "--path", str(ws)])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(k["name"], k["status"], k["hints_used"]) for k in doc["katas"]] == [("dpo", "fail", 2)]
    dpo = state_of(ws)["katas"]["dpo"]
    assert (dpo["status"], dpo["hints"]) == ("fail", 2)
    assert dpo["graded_at"] > 0 and dpo["total_checks"] == len(DPO.checks) and dpo["passed_checks"] < len(DPO.checks)
    text = runner.invoke(main, ["grade", "dpo", "--seed", "0", "--path", str(ws)])
    assert "hints used: 2" in text.output.splitlines()[0]
    assert lent[0] == 2  # each grade asked for a sandbox (the session's was lent)


# ------------------------------------------------------------------ progress
def list_rows(output: str) -> dict[str, tuple[str, str]]:
    """kata -> (status, hints), sliced at the column starts of each track's table header."""
    cols = None
    rows = {}
    for line in output.splitlines():
        if line.startswith("kata ") and "status" in line:
            cols = [line.index(w) for w in ("status", "hints", "what it is")]
        elif cols is not None and line.strip() and not any(line.startswith(f"{t}: ") for t in registry.TRACKS):
            name = line[:cols[0]].strip()
            rows[name] = (line[cols[0]:cols[1]].strip(), line[cols[1]:cols[2]].strip())
    return rows


def test_list_shows_each_katas_last_grade_and_hints_used(runner, ws, lent):
    first, *rest = registry.names()
    (ws / f"{first}.py").write_text(solution_source(first))
    (ws / "dpo.py").write_text(solution_source("dpo").replace("beta * h", "h"))  # β missing: fails
    runner.invoke(main, ["hint", "dpo", "--path", str(ws)])
    result = runner.invoke(main, ["grade", first, "dpo", "--seed", "0", "--path", str(ws)])
    assert result.exit_code == 1
    listed = runner.invoke(main, ["list", "--path", str(ws)])
    assert listed.exit_code == 0
    rows = list_rows(listed.output)
    assert list(rows) == registry.names()
    expected = {n: ("not started", "") for n in registry.names()}
    expected[first] = ("pass", "")
    expected["dpo"] = ("fail", f"1/{len(DPO.hints)}")
    assert rows == expected
    # A kata reset to its stub after a grade is "not started (reset)", its hints still counted.
    runner.invoke(main, ["reset", "dpo", "--path", str(ws)])
    assert list_rows(runner.invoke(main, ["list", "--path", str(ws)]).output)["dpo"] == \
        ("not started (reset)", f"1/{len(DPO.hints)}")


def test_list_without_a_workspace_says_how_to_make_one(runner, tmp_path):
    result = runner.invoke(main, ["list", "--path", str(tmp_path / "none")])
    assert result.exit_code == 0
    assert f"no workspace at '{tmp_path / 'none'}' yet: `kata init {tmp_path / 'none'}` creates one." in result.output
    assert set(list_rows(result.output).values()) == {("missing", "")}


def test_grading_everything_ends_with_the_progress_line(runner, ws, lent):
    first = registry.names()[0]
    (ws / f"{first}.py").write_text(solution_source(first))
    result = runner.invoke(main, ["grade", "--seed", "0", "--path", str(ws)])
    assert result.exit_code == 1
    n = len(registry.KATAS)
    filled = round(20 / n)
    last = [line for line in result.output.splitlines() if line.strip()][-1]
    assert last == f"progress {'█' * filled}{'░' * (20 - filled)} 1 / {n} katas solved"
    # Naming katas grades only those: no progress line.
    named = runner.invoke(main, ["grade", first, "--seed", "0", "--path", str(ws)])
    assert named.exit_code == 0 and "katas solved" not in named.output


# ------------------------------------------------------------------ solution
def solution_lines(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def test_solution_is_locked_until_the_kata_passes(runner, ws, lent):
    locked = runner.invoke(main, ["solution", "dpo", "--path", str(ws)])
    assert locked.exit_code == 1
    assert locked.stdout == ""
    assert locked.stderr.strip() == (
        f"error: the reference for dpo unlocks once your dpo passes: `kata grade dpo --path {ws}`. "
        f"Stuck? `kata hint dpo --path {ws}` reveals the next hint; `kata solution dpo --force --path {ws}` shows it "
        "anyway.")
    (ws / "dpo.py").write_text(solution_source("dpo"))
    assert runner.invoke(main, ["grade", "dpo", "--seed", "0", "--path", str(ws)]).exit_code == 0
    shown = runner.invoke(main, ["solution", "dpo", "--path", str(ws)])
    assert shown.exit_code == 0
    lines = solution_lines(shown.stdout)
    assert lines[0] == f"dpo: reference solution  {workspace.solution_path(DPO)}"
    assert lines[1:] == solution_source("dpo").rstrip("\n").splitlines()  # complete, uncropped, copyable


def test_solution_force_shows_it_without_a_pass_and_uncropped_on_80_columns(ws):
    source = solution_source("get_probs")
    assert max(map(len, source.splitlines())) > 80  # the test needs a line wider than the terminal
    forced = CliRunner(env={"COLUMNS": "80"}).invoke(main, ["solution", "get_probs", "--force", "--path", str(ws)])
    assert forced.exit_code == 0
    assert solution_lines(forced.stdout)[1:] == source.rstrip("\n").splitlines()


def test_solution_outside_a_workspace_is_locked(runner, tmp_path):
    result = runner.invoke(main, ["solution", "dpo", "--path", str(tmp_path / "none")])
    assert result.exit_code == 1 and "--force" in result.stderr


def test_solution_is_highlighted_on_a_terminal():
    import io

    from rich.console import Console

    from grader import render

    con = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=80)
    render.solution(con, DPO, solution_source("dpo"), "solutions/dpo.py")
    out = con.file.getvalue()
    assert "\x1b[" in out  # styled
    assert " 1 " in out and "import" in out  # line numbers on a terminal
