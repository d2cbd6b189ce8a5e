"""`kata init`, `kata reset` and the workspace's state file never destroy work: exact exit
codes and messages through click's CliRunner, and what is on disk afterwards."""
from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from grader import registry
from grader.core import state, workspace
from grader.cli import EXIT_OK, EXIT_USAGE, main

MY_WORK = "def dpo_loss(*args, **kwargs):\n    return 'my own attempt'\n"
STAMP = r"\d{8}-\d{6}"


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "1000"})  # rich wraps at the terminal's width, inside words too


def flat(text: str) -> str:
    """Output with every run of whitespace as one space (and no line breaks)."""
    return " ".join(text.split())


def kata_files(ws):
    return sorted(p.name for p in ws.glob("*.py"))


# --------------------------------------------------------------------------- init
def test_init_writes_a_stub_for_every_kata(runner, tmp_path):
    ws = tmp_path / "ws"
    result = runner.invoke(main, ["init", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    names = [k.filename for k in registry.KATAS.values()]
    assert flat(result.stdout).startswith(f"Created {len(names)} stubs in {ws}: {', '.join(names)} ")
    for kata in registry.KATAS.values():
        assert (ws / kata.filename).read_text() == workspace.stub_source(kata)
        assert workspace.is_stub(ws / kata.filename, kata)


def test_init_refuses_to_overwrite_and_writes_nothing(runner, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "dpo.py").write_text(MY_WORK)
    (ws / "notes.txt").write_text("mine")
    result = runner.invoke(main, ["init", str(ws)])
    assert result.exit_code == EXIT_USAGE
    assert flat(result.stderr).endswith(
        f"Error: '{ws}' already has dpo.py; nothing was written. `kata reset NAME --path DIR` restores one stub "
        "(after backing up the file), or choose an empty folder.")
    assert (ws / "dpo.py").read_text() == MY_WORK
    assert kata_files(ws) == ["dpo.py"]  # no other stub was written either
    assert (ws / "notes.txt").read_text() == "mine"


def test_init_in_a_folder_with_other_files_keeps_them(runner, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "helpers.py").write_text("SCALE = 2\n")
    result = runner.invoke(main, ["init", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    assert (ws / "helpers.py").read_text() == "SCALE = 2\n"
    assert kata_files(ws) == sorted([k.filename for k in registry.KATAS.values()] + ["helpers.py"])


# --------------------------------------------------------------------------- reset
def test_reset_saves_the_file_to_a_backup_it_names_first(runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").write_text(MY_WORK)
    result = runner.invoke(main, ["reset", "dpo", "--path", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    backups = list(ws.glob("dpo.py.kata-backup-*"))
    assert len(backups) == 1 and re.fullmatch(rf"dpo\.py\.kata-backup-{STAMP}", backups[0].name)
    assert flat(result.stdout) == f"Saved your dpo.py as {backups[0]} Restored the stub {ws / 'dpo.py'}"
    assert backups[0].read_text() == MY_WORK
    assert (ws / "dpo.py").read_text() == workspace.stub_source(registry.get("dpo"))


def test_reset_twice_keeps_both_backups(runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    versions = [MY_WORK, MY_WORK.replace("attempt", "second attempt")]
    for text in versions:
        (ws / "dpo.py").write_text(text)
        assert runner.invoke(main, ["reset", "dpo", "--path", str(ws)]).exit_code == EXIT_OK
    backups = sorted(ws.glob("dpo.py.kata-backup-*"), key=lambda p: p.stat().st_mtime_ns)
    assert [p.read_text() for p in backups] == versions  # the same second gets a -2 suffix, not an overwrite


def test_reset_of_a_missing_file_writes_the_stub(runner, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = runner.invoke(main, ["reset", "dpo", "--path", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    assert flat(result.stdout) == f"Restored the stub {ws / 'dpo.py'}"
    assert list(ws.glob("*.kata-backup-*")) == []


def test_reset_without_a_workspace_is_a_usage_error(runner, tmp_path):
    ws = tmp_path / "nowhere"
    result = runner.invoke(main, ["reset", "dpo", "--path", str(ws)])
    assert result.exit_code == EXIT_USAGE
    assert flat(result.stderr).endswith(f"Error: no workspace at '{ws}'. Create one with `kata init {ws}`, or point "
                                        "at an existing one with --path DIR.")
    assert not ws.exists()


# --------------------------------------------------------------------------- the state file
@pytest.mark.parametrize("text, why", [
    (json.dumps({"version": 0, "katas": {"dpo": {"status": "pass", "hints": 2}}}),
     f"state version 0, this grader writes version {state.VERSION}"),
    ("{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
], ids=["older_version", "unreadable"])
def test_an_unusable_state_file_is_moved_aside_and_says_so(text, why, runner, tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    path = ws / ".kata" / "state.json"
    path.parent.mkdir()
    path.write_text(text)
    result = runner.invoke(main, ["list", "--path", str(ws)])
    assert result.exit_code == EXIT_OK, result.output
    backups = list(path.parent.glob("state.json.kata-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == text  # nothing lost
    assert not path.exists()
    assert flat(f"{path} could not be used ({why}); it was moved to {backups[0].name} and progress starts afresh.") \
        in flat(result.stdout)


def test_grade_names_the_backup_of_an_unusable_state_file_on_stderr(runner, tmp_path, sandbox, monkeypatch):
    from tests.borrowed import lend

    lend(monkeypatch, sandbox)
    ws = tmp_path / "ws"
    workspace.init(ws)
    path = ws / ".kata" / "state.json"
    path.parent.mkdir()
    path.write_text("{not json")
    result = runner.invoke(main, ["grade", "dpo", "--json", "--seed", "0", "--path", str(ws)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["katas"][0]["status"] == "not_started"  # stdout: the JSON document alone
    backups = list(path.parent.glob("state.json.kata-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{not json"
    assert flat(result.stderr).startswith(f"{path} could not be used (") and \
        flat(result.stderr).endswith(f"it was moved to {backups[0].name} and progress starts afresh.")


def test_state_is_written_atomically(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    s = state.State.load(ws)
    s.get("dpo").hints = 1
    s.save()
    before = s.path.read_bytes()
    assert json.loads(before)["katas"]["dpo"]["hints"] == 1

    def interrupted(src, dst):  # the rename that would publish the new file never happens
        raise KeyboardInterrupt

    s.get("dpo").hints = 3
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        s.save()
    monkeypatch.undo()
    assert s.path.read_bytes() == before  # the old state, whole
    assert sorted(p.name for p in s.path.parent.iterdir()) == ["state.json"]  # no temp file left behind
    s.save()
    assert json.loads(s.path.read_text())["katas"]["dpo"]["hints"] == 3


def test_a_fifo_in_the_workspace_never_blocks_list_or_progress(tmp_path):
    """`kata list`, watch's fingerprint and the progress digest look at kata files without
    opening a FIFO (which would block until someone writes) or reading a device."""
    import os
    import subprocess
    import sys

    from grader.core.files import read_if_regular
    from grader.core.state import file_digest
    from grader.practice.watch import fingerprint

    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / "dpo.py").unlink()
    os.mkfifo(ws / "dpo.py")
    (ws / "ipo.py").unlink()
    (ws / "ipo.py").symlink_to("/dev/zero")
    assert read_if_regular(ws / "dpo.py") is None and read_if_regular(ws / "ipo.py") is None
    assert file_digest(ws / "dpo.py") == "" and file_digest(ws / "ipo.py") == ""
    assert "dpo.py" not in fingerprint(ws) and "ipo.py" not in fingerprint(ws) and "orpo.py" in fingerprint(ws)
    done = subprocess.run([sys.executable, "-m", "grader", "list", "--path", str(ws)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
                          cwd=workspace.PACKAGE_ROOT)
    assert done.returncode == 0, done.stderr
    assert "dpo" in done.stdout and "orpo" in done.stdout
