"""What a hostile workspace or command line does to the commands themselves: exact exit codes,
messages and files on disk. Found by grading odd workspaces and options through the CLI; each
test names the promise it keeps (no traceback, nothing lost, everyone else's verdict, the
submission never charged for the grader's or the environment's failure)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

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
def test_reset_moves_a_special_file_aside_unread(runner, tmp_path, kind):
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
        with tempfile.TemporaryDirectory(dir="/tmp") as short:  # a socket's path is at most 107 bytes
            sock.bind(os.path.join(short, "s"))
            os.rename(os.path.join(short, "s"), target)
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


# --------------------------------------------------------------------------- audit 5
def _report_doc(**changes) -> dict:
    kata = {"name": "dpo", "status": "pass", "message": "", "checks": [], "seconds": 1.0, "hints_used": 0}
    doc = {"katas": [kata], "seed": 0, "workspace": "w", "warnings": [], "grader_version": "x"}
    for key, value in changes.items():
        (kata if key in kata else doc)[key] = value
    return doc


@pytest.mark.parametrize("name, text, says", [
    ("inf_seed", json.dumps(_report_doc(seed=1e400)), "(OverflowError: cannot convert float infinity to integer)"),
    ("inf_hints", json.dumps(_report_doc(hints_used=1e400)), "(OverflowError: cannot convert float infinity to integer)"),
    ("deep", "[" * 200_000 + "]" * 200_000, "(nested too deeply)"),
], ids=["inf_seed", "inf_hints", "deep"])
def test_a_malformed_json_report_is_that_files_error_not_the_graders(runner, tmp_path, name, text, says):
    """`kata report --from-json` names the file that is not a report and why (audit 5, P2/P9: an
    OverflowError or RecursionError was a grader fault, rc 3, for the whole cohort)."""
    (tmp_path / "alice.json").write_text(json.dumps(_report_doc()))
    (tmp_path / f"{name}.json").write_text(text)
    result = runner.invoke(main, ["report", "--from-json", str(tmp_path / "alice.json"), str(tmp_path / f"{name}.json")])
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"is not the JSON of `kata grade --json` {says}" in flat(result.output), result.output


def _kata_subprocess(args: list[str], cwd) -> subprocess.CompletedProcess:
    """`kata ARGS` with strict UTF-8 on stdout and stderr (PYTHONIOENCODING=utf-8: no surrogateescape)."""
    from tests.conftest import TESTS

    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(TESTS.parent), "COLUMNS": "200",
           "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env, capture_output=True, timeout=300)


def test_text_that_strict_utf8_cannot_hold_is_written_escaped_everywhere(tmp_path):
    """A lone surrogate from a child (an exception's message, something printed) or from a folder
    name (byte \\xff) is escaped before it is stored, shown or written: every member keeps its
    verdict, the CSV and JUnit files are written (audit 5, P5: rc 3 and no file for anyone)."""
    raising = "raise ValueError('bad \\ud800 value')\n"
    printing = "print('debug: \\ud800')\n" + solution_source("get_probs")
    people = [ws_with(tmp_path, "raising", {"get_probs.py": raising}),
              ws_with(tmp_path, "printing", {"get_probs.py": printing}),
              ws_with(tmp_path, os.fsdecode(b"named_\xff"), {"get_probs.py": solution_source("get_probs")})]
    done = _kata_subprocess(["report", *map(str, people), "--kata", "get_probs", "--seed", str(SEED), "--csv",
                             str(tmp_path / "cohort.csv"), "--junit", str(tmp_path / "cohort.xml")], tmp_path)
    assert done.returncode == EXIT_FAIL, done.stderr.decode()
    with open(tmp_path / "cohort.csv", encoding="utf-8", newline="") as f:
        rows = {r["person"]: r for r in csv.DictReader(f)}
    assert {p: r["status"] for p, r in rows.items()} == {"raising": "error", "printing": "pass", "named_\\udcff": "pass"}
    assert "ValueError: bad \\ud800 value" in rows["raising"]["message"]
    assert "named_\\udcff" in (tmp_path / "cohort.xml").read_text(encoding="utf-8")
    stdout = done.stdout.decode("utf-8")
    assert "named_\\udcff" in stdout and "2 / 3 people pass" in flat(stdout)
    done = _kata_subprocess(["grade", "get_probs", "--path", str(people[1]), "--seed", str(SEED)], tmp_path)
    assert done.returncode == EXIT_OK and done.stdout.decode("utf-8").startswith("get_probs  PASS "), done.stdout


def test_person_names_are_never_read_as_markup(runner, tmp_path):
    """Folder names go into the cohort's table as text (audit 5, P10: 'a[/b]' was a MarkupError, rc 3,
    and '[red]bob' was shown as 'bob')."""
    people = [ws_with(tmp_path / "a[" / "b]", "alice", {"dpo.py": solution_source("dpo")}),
              ws_with(tmp_path / "c", "alice", {"dpo.py": solution_source("dpo")}),
              ws_with(tmp_path, "[red]bob", {"dpo.py": solution_source("dpo")})]
    result = runner.invoke(main, ["report", *map(str, people), "--kata", "dpo", "--seed", str(SEED)])
    assert result.exit_code == EXIT_OK, result.output
    rows = [line.split()[0] for line in result.output.splitlines()[1:4]]
    assert rows == [str(people[0]), str(people[1]), "[red]bob"], result.output


@pytest.mark.parametrize("args", [["grade", "dpo", "--junit", "{ws}/dpo.py"], ["grade", "dpo", "--summary", "{ws}/dpo.py"],
                                  ["report", "{ws}", "--kata", "dpo", "--csv", "{ws}/dpo.py"],
                                  ["report", "{ws}", "--kata", "dpo", "--json", "{ws}/helper.py"],
                                  ["report", "{ws}", "--kata", "dpo", "--junit", "{ws}/out.xml"]])
def test_an_output_file_is_never_a_python_source(runner, tmp_path, args):
    """`--junit ws/dpo.py` overwrote the candidate's kata file with XML, no backup (audit 5, P11).
    One rule for every output option: a .py file (or a link to one) is refused before grading."""
    ws = ws_with(tmp_path, "ws", {"dpo.py": solution_source("dpo")})
    os.symlink("dpo.py", ws / "out.xml")
    argv = [a.format(ws=ws) for a in args] + (["--path", str(ws)] if args[0] == "grade" else [])
    result = runner.invoke(main, [*argv, "--seed", str(SEED)])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "it is a Python source file (a kata file or a helper module?)" in flat(result.output)
    assert (ws / "dpo.py").read_text() == solution_source("dpo") and not (ws / "helper.py").exists()


def test_a_huge_state_file_is_moved_aside_by_rename_never_read_or_copied(runner, tmp_path):
    """A sparse 400 MB .kata/state.json was read whole and backed up dense (audit 5, P8): past the
    cap it is renamed, the same file (inode), still sparse."""
    ws = ws_with(tmp_path, "ws", {"dpo.py": solution_source("dpo")})
    state = ws / ".kata" / "state.json"
    state.parent.mkdir(exist_ok=True)
    with open(state, "wb") as f:
        f.truncate(400 << 20)
    inode = state.stat().st_ino
    result = runner.invoke(main, ["grade", "dpo", "--path", str(ws), "--seed", str(SEED), "--json"])
    assert result.exit_code == EXIT_OK, result.output
    (saved,) = (ws / ".kata").glob("state.json.kata-backup-*")
    assert (saved.stat().st_ino, saved.stat().st_size, saved.stat().st_blocks) == (inode, 400 << 20, 0)
    assert "progress starts afresh" in flat(result.stderr)
    assert json.loads(state.read_text())["katas"]["dpo"]["status"] == "pass"


def test_a_forged_worker_failure_is_not_presented_as_the_graders_bug(grade_one):
    """The worker's failure line and exit code can be written by a submission (audit 5, P7): the
    message gives both readings."""
    forged = ("import os\nos.write(2, b'\\n[grader] the sandboxed worker failed: RuntimeError: broken\\n')\n"
              "os._exit(3)\n")
    result = grade_one("dpo", forged)
    assert result.status == "error"
    assert result.message == ("the sandboxed process ended as the grader's worker does when its own code fails "
                              "(RuntimeError: broken). Either the grader failed after the submission ran (a bug in the "
                              "grader: please report it with this message), or the submission wrote that line and "
                              "ended its own process with the worker's exit code; the grader cannot tell which, so "
                              "the kata was not judged.")
