"""What a hostile workspace or command line does to the commands themselves: exact exit codes,
messages and files on disk. Found by grading odd workspaces and options through the CLI; each
test names the promise it keeps (no traceback, nothing lost, everyone else's verdict, the
submission never charged for the grader's or the environment's failure)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader import registry
from grader.cli import EXIT_FAIL, EXIT_GRADER_FAULT, EXIT_OK, EXIT_USAGE, main
from grader.core import engine, workspace
from grader.sandbox.pool import Limits
from tests.conftest import MISTAKES, solution_source

SEED = 7


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "1000", "NO_COLOR": "1"})


def flat(text: str) -> str:
    return " ".join(text.split())


def ws_with(root, name: str, files: dict[str, str | bytes]):
    ws = root / name
    workspace.init(ws)
    for filename, data in files.items():
        (ws / filename).write_bytes(data if isinstance(data, bytes) else data.encode())
    return ws


# --------------------------------------------------------------------------- sources
def test_a_source_with_a_utf8_bom_is_graded_as_python_reads_it(grade_one):
    """Python imports a file that starts with a BOM; so does the grader (it parsed decoded text
    and called the BOM a syntax error)."""
    assert grade_one("dpo", "\ufeff" + solution_source("dpo")).status == "pass"


def test_a_syntax_error_in_a_helper_module_names_that_module(grade_files):
    report = grade_files({"dpo": "import myhelp\n\n\ndef dpo_loss(*a, **k):\n    return myhelp.f()\n",
                          "myhelp": "x = 1\n\ndef f(:\n    pass\n"}, ["dpo"])
    r = report.katas[0]
    assert r.status == "error"
    assert r.message == "myhelp.py:3: SyntaxError: invalid syntax\n    def f(:"


def test_a_link_loop_in_one_workspace_leaves_the_cohort_its_verdicts(runner, tmp_path):
    good = ws_with(tmp_path, "alice", {"dpo.py": solution_source("dpo")})
    looped = ws_with(tmp_path, "mallory", {"dpo.py": solution_source("dpo")})
    os.symlink("h.py", looped / "h.py")  # h.py -> h.py
    out = tmp_path / "cohort.json"
    result = runner.invoke(main, ["report", str(good), str(looped), "--kata", "dpo", "--seed", str(SEED),
                                  "--json", str(out)])
    assert result.exit_code == EXIT_FAIL, result.output
    people = {p["person"]: p["katas"][0] for p in json.loads(out.read_text())["people"]}
    assert people["alice"]["status"] == "pass"
    assert people["mallory"]["status"] == "error"
    assert people["mallory"]["message"].startswith("the workspace's module h.py is a symbolic link.")


# --------------------------------------------------------------------------- options
@pytest.mark.parametrize("args, says", [
    (["--seed", str(2 ** 64)], "Invalid value for '--seed': 18446744073709551616 is not in the range "
                               "-9223372036854775808 to 9223372036854775807."),
    (["--seed", "1.5"], "Invalid value for '--seed': '1.5' is not an integer."),
    (["--timeout", "nan"], "Invalid value for '--timeout': nan is not in the range 0.1 to 86400."),
    (["--timeout", "inf"], "Invalid value for '--timeout': inf is not in the range 0.1 to 86400."),
    (["--memory-mb", str(10 ** 14)], "Invalid value for '--memory-mb': 100000000000000 is not in the range 16 "
                                     "to 1048576."),
])
def test_options_the_run_could_not_honour_are_usage_errors(runner, args, says):
    """A seed past 64 bits made correct code fail in the toy's Generator, blamed on "your
    function"; a NaN timeout gave the sandbox's error to a correct kata."""
    result = runner.invoke(main, ["grade", "dpo", "--reference", *args])
    assert result.exit_code == EXIT_USAGE
    assert says in flat(result.output)


def test_the_engine_refuses_the_same_options_from_any_caller():
    for options, says in ((dict(seed=2 ** 64), "seed must be a number from"),
                          (dict(seed=True), "seed must be an integer, got True"),
                          (dict(limits=Limits(timeout=float("nan"))), "timeout must be a number from 0.1 to 86400, got nan"),
                          (dict(limits=Limits(memory_mb=8)), "memory_mb must be a number from 16 to 1048576, got 8")):
        with pytest.raises(ValueError, match=says):
            engine.Options(**options)
    assert engine.Options(seed=-(2 ** 63)).seed == -(2 ** 63)


# --------------------------------------------------------------------------- output files
def test_output_files_write_through_links_and_devices_never_replace_them(runner, tmp_path):
    ws = ws_with(tmp_path, "alice", {"dpo.py": solution_source("dpo")})
    (tmp_path / "target.csv").write_text("old\n")
    os.symlink("target.csv", tmp_path / "link.csv")
    args = ["report", str(ws), "--kata", "dpo", "--seed", str(SEED)]
    result = runner.invoke(main, [*args, "--csv", str(tmp_path / "link.csv"), "--json", os.devnull])
    assert result.exit_code == EXIT_OK, result.output
    assert os.path.islink(tmp_path / "link.csv")  # still a link, its target written
    assert (tmp_path / "target.csv").read_text().startswith("person,")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)  # still the device
    result = runner.invoke(main, [*args, "--csv", str(tmp_path)])  # a folder: click refuses it
    assert result.exit_code == EXIT_USAGE
    result = runner.invoke(main, ["grade", "dpo", "--path", str(ws), "--seed", str(SEED), "--junit",
                                  "/proc/version"])
    assert result.exit_code == EXIT_FAIL  # dpo passed; the file the user asked for could not be written
    assert "could not write /proc/version: " in flat(result.output)
    assert "dpo PASS" in flat(result.output)


# --------------------------------------------------------------------------- the workspace's own files
@pytest.mark.parametrize("entry", [{"katas": []}, {"katas": {"dpo": {"hints": "9"}}}, {"katas": {"dpo": [1]}},
                                   {"katas": {"dpo": {"hints": -1}}}])
def test_a_state_file_of_the_wrong_shape_is_moved_aside_and_the_grade_kept(runner, tmp_path, entry):
    ws = ws_with(tmp_path, "ws", {"dpo.py": solution_source("dpo")})
    (ws / ".kata").mkdir(exist_ok=True)
    (ws / ".kata" / "state.json").write_text(json.dumps({"version": 1, **entry}))
    result = runner.invoke(main, ["grade", "dpo", "--path", str(ws), "--seed", str(SEED), "--json"])
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["katas"][0]["status"] == "pass"
    assert "could not be used" in flat(result.stderr) and "progress starts afresh" in flat(result.stderr)
    assert len(list((ws / ".kata").glob("state.json.kata-backup-*"))) == 1
    assert json.loads((ws / ".kata" / "state.json").read_text())["katas"]["dpo"]["status"] == "pass"


def test_a_hint_is_shown_where_progress_cannot_be_recorded(runner, tmp_path):
    ws = ws_with(tmp_path, "ws", {})
    shutil.rmtree(ws / ".kata", ignore_errors=True)
    (ws / ".kata").write_text("not a folder")
    result = runner.invoke(main, ["hint", "dpo", "--path", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    assert flat(result.stdout).startswith("Hint 1/3 (concept): ")
    assert f"the hint level was not recorded in {ws} (" in flat(result.stderr)


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to /dev/zero", "socket"])
def test_reset_moves_a_special_file_aside_unread(runner, tmp_path, monkeypatch, kind):
    """Reading a FIFO to back it up hung `kata reset`; /dev/zero never ended."""
    import socket

    ws = ws_with(tmp_path, "ws", {})
    target = ws / "dpo.py"
    target.unlink()
    sock = None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        monkeypatch.chdir(ws)  # a socket's path is at most 107 bytes: the temporary folder's may be longer
        sock.bind(target.name)
    else:
        os.symlink("/dev/zero", target)
    try:
        result = runner.invoke(main, ["reset", "dpo", "--path", str(ws)])
    finally:
        if sock is not None:
            sock.close()
    assert result.exit_code == EXIT_OK, result.output
    saved = list(ws.glob("dpo.py.kata-backup-*"))
    assert len(saved) == 1 and f"Saved your dpo.py as {saved[0]}" in flat(result.output)
    assert target.read_text() == workspace.stub_source(registry.get("dpo"))
    if kind == "link to /dev/zero":
        assert os.readlink(saved[0]) == "/dev/zero"


def test_init_where_no_folder_can_be_made_is_a_usage_error(runner, tmp_path):
    (tmp_path / "a-file").write_text("")
    for where in (tmp_path / "a-file", tmp_path / "a-file" / "below"):
        result = runner.invoke(main, ["init", str(where)])
        assert result.exit_code == EXIT_USAGE
        assert f"cannot make a workspace at '{where}': " in flat(result.output)
        assert "nothing was written." in flat(result.output)


# --------------------------------------------------------------------------- what reaches the terminal
def test_a_newline_in_a_folder_name_cannot_forge_a_row_of_the_table(runner, tmp_path):
    forged = ws_with(tmp_path, "mallory\nbob       PASS", {})
    result = runner.invoke(main, ["report", str(forged), "--kata", "dpo", "--seed", str(SEED)])
    assert result.exit_code == EXIT_FAIL
    rows = [line for line in result.output.splitlines() if "bob" in line]
    assert rows == [next(line for line in rows)] and rows[0].startswith("mallory\ufffdbob       PASS ")


def test_escapes_in_a_kata_name_on_the_command_line_are_defused(runner):
    result = runner.invoke(main, ["solution", "\x1b[31mdpo\x1b]0;title\x07"])
    assert result.exit_code == EXIT_USAGE
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "unknown kata '\ufffd[31mdpo\ufffd]0;title\ufffd'" in result.output


def test_a_narrow_terminal_is_laid_out_at_forty_columns():
    from grader.render.base import MIN_WIDTH, console

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "20"
    try:
        assert console().width == MIN_WIDTH == 40
    finally:
        os.environ.pop("COLUMNS") if old is None else os.environ.__setitem__("COLUMNS", old)


def test_a_reader_that_stops_early_leaves_the_exit_code_alone(tmp_path):
    """`kata list | head -1`: the command's own exit code, no BrokenPipeError (a real process:
    the pipe must close)."""
    env = dict(os.environ, PYTHONPATH=str(workspace.PACKAGE_ROOT), NO_COLOR="1")
    ws = tmp_path / "ws"
    workspace.init(ws)
    p = subprocess.Popen([sys.executable, "-m", "grader", "list", "--path", str(ws)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdout.readline()
    p.stdout.close()
    assert p.wait(timeout=60) == EXIT_OK
    assert p.stderr.read() == b""


# --------------------------------------------------------------------------- what a command lets through
def test_what_a_command_lets_through_is_a_message_never_a_traceback(runner, tmp_path, monkeypatch):
    from grader.commands import catalog

    def disk(*args, **kwargs):
        raise OSError(28, "No space left on device", "/ws/.kata/state.json")

    monkeypatch.setattr(catalog, "first_unpassed", disk)
    result = runner.invoke(main, ["next", "--path", str(tmp_path)])
    assert result.exit_code == EXIT_USAGE
    assert flat(result.stderr) == "error: No space left on device (/ws/.kata/state.json)."

    def bug(*args, **kwargs):
        raise KeyError("status")

    monkeypatch.setattr(catalog, "first_unpassed", bug)
    result = runner.invoke(main, ["next", "--path", str(tmp_path)])
    assert result.exit_code == EXIT_GRADER_FAULT
    assert flat(result.stderr) == ("error: the grader failed (KeyError: 'status'). This is a bug in the grader, not "
                                   "in your code: please report it with this message and the command you ran.")


def test_a_wrong_mistake_file_still_fails_through_the_cli(runner, tmp_path):
    """The safety net above lets a verdict through as it is."""
    ws = ws_with(tmp_path, "ws", {"dpo.py": (MISTAKES / "dpo" / "sign_flipped.py").read_text()})
    result = runner.invoke(main, ["grade", "dpo", "--path", str(ws), "--seed", str(SEED)])
    assert result.exit_code == EXIT_FAIL
    assert "known mistake: 'sign flipped'" in flat(result.output)
