"""`kata watch`: the loop's logic on scripted events, then real saves in a temporary workspace,
then the command itself stopped with Ctrl-C. Every wait is bounded."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader import registry
from grader.core import workspace
from grader.core.files import atomic_write
from grader.core.results import KataResult, Report
from grader.core.state import State
from grader.practice.watch import Step, WorkspaceGrader, next_unfinished, practice, watch
from tests.conftest import solution_source

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the loop, scripted
class Script:
    """A fake workspace: file contents change between events; grades come from a table."""

    def __init__(self, files: dict[str, str], verdicts: dict[tuple[str, str], str]) -> None:
        self.files = dict(files)
        self.verdicts = verdicts  # (kata, content) -> status
        self.graded: list[tuple[str, str]] = []
        self.passed: set[str] = set()

    def grade(self, kata: str, obsolete=None) -> Report:
        content = self.files[f"{kata}.py"]
        status = self.verdicts.get((kata, content), "fail")
        self.graded.append((kata, status))
        if status == "pass":
            self.passed.add(kata)
        return Report([KataResult(kata, status)], seed=0)

    def events(self, edits: list[dict[str, str]]):
        for edit in edits:
            self.files.update(edit)
            yield {"changed": sorted(edit)}


ORDER = ["a", "b", "c"]
KATA_OF = {f"{k}.py": k for k in ORDER}


def run_script(script: Script, edits: list[dict[str, str]], start: str = "a") -> list[tuple]:
    steps = list(practice(ORDER, start, script.events(edits), script.grade, lambda: dict(script.files), KATA_OF,
                          lambda k: k in script.passed))
    for i, s in enumerate(steps):  # every grade is announced before it starts
        assert (s.kind == "grading") == (i + 1 < len(steps) and steps[i + 1].kind == "graded")
        if s.kind == "grading":
            assert steps[i + 1].kata == s.kata
    return [(s.kind, s.kata, s.report.katas[0].status if s.report else None) for s in steps if s.kind != "grading"]


def test_a_save_regrades_and_a_pass_moves_on_to_the_next_kata():
    script = Script({"a.py": "stub", "b.py": "stub", "c.py": "stub"}, {("a", "right"): "pass"})
    steps = run_script(script, [{"a.py": "wrong"}, {"a.py": "right"}])
    assert steps == [("graded", "a", "fail"), ("graded", "a", "fail"), ("graded", "a", "pass"),
                     ("next", "b", None), ("graded", "b", "fail")]


def test_saving_unchanged_content_does_not_regrade():
    script = Script({"a.py": "stub", "b.py": "stub"}, {})
    assert run_script(script, [{"a.py": "stub"}, {}, {"a.py": "stub"}]) == [("graded", "a", "fail")]


def test_saving_another_katas_file_switches_to_it():
    script = Script({"a.py": "stub", "b.py": "stub", "c.py": "stub"}, {})
    assert run_script(script, [{"c.py": "try"}]) == [("graded", "a", "fail"), ("graded", "c", "fail")]


def test_a_changed_helper_module_regrades_the_current_kata():
    script = Script({"a.py": "x", "b.py": "stub", "helpers.py": "v1"}, {})
    assert run_script(script, [{"helpers.py": "v2"}], start="b") == [("graded", "b", "fail"), ("graded", "b", "fail")]


def test_moving_on_skips_solved_katas_and_ends_when_all_pass():
    script = Script({"a.py": "ok", "b.py": "stub", "c.py": "ok"},
                    {("a", "ok"): "pass", ("b", "ok"): "pass", ("c", "ok"): "pass"})
    script.passed = {"a"}
    steps = run_script(script, [{"b.py": "ok"}], start="c")
    assert steps == [("graded", "c", "pass"), ("next", "b", None), ("graded", "b", "fail"),
                     ("graded", "b", "pass"), ("done", "b", None)]


def test_next_unfinished_is_in_registry_order_and_wraps_around():
    assert next_unfinished(ORDER, "b", lambda k: False) == "c"
    assert next_unfinished(ORDER, "c", lambda k: False) == "a"
    assert next_unfinished(ORDER, "a", lambda k: k == "b") == "c"
    assert next_unfinished(ORDER, "a", lambda k: k != "a") is None


# ------------------------------------------------------------------ real saves
def test_real_saves_are_graded_with_one_sandbox_and_move_on(tmp_path, sandbox, monkeypatch):
    from grader.sandbox.pool import Limits, Sandbox

    def no_new_sandbox(cls):
        raise AssertionError("watch must re-grade with the sandbox it was given")

    monkeypatch.setattr(Sandbox, "start", classmethod(no_new_sandbox))
    ws = tmp_path / "ws"
    workspace.init(ws)
    first, second = registry.names()[:2]
    grader = WorkspaceGrader(ws, sandbox, seed=0, limits=Limits(timeout=20))
    stop = threading.Event()
    first_report = threading.Event()
    guard = threading.Timer(40, stop.set)  # never hang: the watcher stops at the latest here

    def save_like_an_editor() -> None:
        if not first_report.wait(30):
            return
        time.sleep(0.5)  # the watcher is running by now (it starts within milliseconds)
        (ws / f"{first}.py").write_text("import torch\n\n\ndef half_written(")  # a partial write...
        time.sleep(0.02)
        atomic_write(ws / f"{first}.py", solution_source(first))  # ...then a rename over the file

    writer = threading.Thread(target=save_like_an_editor, daemon=True)
    writer.start()
    guard.start()
    steps: list[Step] = []
    started = time.monotonic()
    try:
        for step in watch(ws, first, grader, stop_event=stop, tick_ms=None):  # events only: no polling
            if step.kind == "grading":
                continue
            steps.append(step)
            first_report.set()
            if step.kind == "graded" and step.kata == second:
                break
    finally:
        stop.set()
        guard.cancel()
        writer.join(5)
    seen = [(s.kind, s.kata, s.report.katas[0].status if s.report else None) for s in steps]
    assert seen == [("graded", first, "not_started"), ("graded", first, "pass"), ("next", second, None),
                    ("graded", second, "not_started")], f"after {time.monotonic() - started:.1f} s"
    assert grader.sandbox is sandbox and grader.sandboxes_started == 0
    state = State.load(ws)
    assert (state.get(first).status, state.get(second).status) == ("pass", "not_started")


def test_a_dead_sandbox_is_replaced(tmp_path, sandbox, monkeypatch):
    from tests.borrowed import lend

    class Dead:
        class proc:
            @staticmethod
            def poll():
                return -9  # killed from outside

        closed = False

        def close(self):
            Dead.closed = True

    starts = lend(monkeypatch, sandbox)  # the replacement is the session's sandbox
    ws = tmp_path / "ws"
    workspace.init(ws)
    first = registry.names()[0]
    grader = WorkspaceGrader(ws, Dead(), seed=0)
    assert grader(first).katas[0].status == "not_started"
    assert (starts[0], grader.sandboxes_started, Dead.closed) == (1, 1, True)
    assert grader.sandbox.proc is sandbox.proc


# ------------------------------------------------------------------ a newer save cancels a grade
def test_a_save_during_a_grade_cancels_it_and_the_newest_version_is_graded():
    script = Script({"a.py": "v1", "b.py": "v1", "c.py": "v1"}, {("a", "v3"): "pass"})
    saves = iter(["v2", "v3"])
    seen_obsolete = []

    def grade(kata, obsolete):
        if kata == "a" and script.files["a.py"] == "v1":  # the first grade: two saves land while it runs
            assert not obsolete()
            script.files["a.py"] = next(saves)
            seen_obsolete.append(obsolete())
            return None  # gave up, as WorkspaceGrader does once obsolete() is true
        if kata == "a" and script.files["a.py"] == "v2":
            script.files["a.py"] = next(saves)
            seen_obsolete.append(obsolete())
            return None
        return script.grade(kata)

    steps = list(practice(ORDER, "a", script.events([]), grade, lambda: dict(script.files), KATA_OF,
                          lambda k: k in script.passed))
    kinds = [(s.kind, s.kata) for s in steps]
    assert kinds == [("grading", "a"), ("cancelled", "a"), ("grading", "a"), ("cancelled", "a"), ("grading", "a"),
                     ("graded", "a"), ("next", "b"), ("grading", "b"), ("graded", "b")]
    assert seen_obsolete == [True, True]
    assert script.graded == [("a", "pass"), ("b", "fail")]  # of a, only the newest version was graded


def test_workspace_grader_ends_an_obsolete_grade_at_once(tmp_path):
    from grader.core.state import file_digest
    from grader.sandbox.pool import Limits, Sandbox

    ws = tmp_path / "ws"
    workspace.init(ws)
    name = registry.names()[0]
    path = ws / registry.get(name).filename
    atomic_write(path, "def endless(*args, **kwargs):\n    while True:\n        pass\n\n\n"
                 + "".join(f"{e} = endless\n" for e in registry.get(name).entry))
    graded = file_digest(path)
    grader = WorkspaceGrader(ws, Sandbox.start(), seed=0, limits=Limits(timeout=60))  # its own: its child is ended
    old = grader.sandbox.proc.pid
    def fix_once_the_loop_runs() -> None:  # the save lands while the endless child is running
        deadline = time.monotonic() + 60
        while not [p for p in descendants(old) if alive(p)] and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        atomic_write(path, solution_source(name))

    fixed = threading.Thread(target=fix_once_the_loop_runs, daemon=True)
    try:
        fixed.start()
        started = time.monotonic()
        assert grader(name, lambda: file_digest(path) != graded) is None
        cancelled_after = time.monotonic() - started
        assert cancelled_after < 30, cancelled_after  # not the 60 s timeout of the endless loop
        assert (grader.cancelled, grader.sandboxes_started) == (1, 0)  # the same sandbox, torch still imported
        assert grader.sandbox.proc.pid == old  # the same zygote...
        assert [p for p in descendants(old) if alive(p)] == []  # ...and the looping child is gone
        assert State.load(ws).get(name).status == ""  # an obsolete grade records nothing
        report = grader(name, lambda: file_digest(path) != file_digest(path))  # the new version, to the end
        assert report.katas[0].status == "pass"
    finally:
        fixed.join(60)
        grader.close()


# ------------------------------------------------------------------ the command, with Ctrl-C
def descendants(pid: int) -> list[int]:
    from grader.sandbox import procs

    out, todo = [], [pid]
    while todo:
        kids = procs.children_of(todo.pop())
        out += kids
        todo += kids
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kata_watch_moves_on_after_a_save_and_ctrl_c_exits_cleanly(tmp_path):
    ws = tmp_path / "ws"
    workspace.init(ws)
    first, second = registry.names()[:2]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "grader", "watch", "--path", str(ws), "--seed", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    out: list[str] = []

    def wait_for(text: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                out.append(lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if text in out[-1]:
                return
        raise AssertionError(f"no {text!r} within {seconds} s; output so far:\n" + "".join(out))

    try:
        wait_for(f"{first}  NOT STARTED")
        atomic_write(ws / f"{first}.py", solution_source(first))
        wait_for(f"{first}  PASS")
        wait_for(f"→ next kata: {second}")
        wait_for(f"{second}  NOT STARTED")
        # Ctrl-C while a grade runs: an endless loop that only the 10 s timeout would end.
        atomic_write(ws / f"{second}.py", "def endless(*args, **kwargs):\n    while True:\n        pass\n\n\n"
                     + "".join(f"{e} = endless\n" for e in registry.get(second).entry))
        wait_for(f"grading {second}...")
        time.sleep(0.5)
        left = descendants(proc.pid)  # the sandbox's zygote and the looping child
        assert len(left) >= 2, left
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        interrupted = time.monotonic()
        code = proc.wait(timeout=15)
        assert time.monotonic() - interrupted < 5  # did not wait for the grade's timeout
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in left if alive(pid)] == []  # nothing left running
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(0.3)
    while not lines.empty():
        out.append(lines.get())
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert out[0].startswith(f"Watching {ws} · starting with {first} · seed 1")
    assert out[-1].rstrip() == f"Stopped watching. 1 / {len(registry.KATAS)} katas solved."


def test_kata_watch_says_where_an_unusable_state_file_went(tmp_path, sandbox, monkeypatch):
    from click.testing import CliRunner

    from grader.practice import watch as watching
    from grader.cli import main
    from tests.borrowed import lend

    ws = tmp_path / "ws"
    workspace.init(ws)
    (ws / ".kata").mkdir()
    (ws / ".kata" / "state.json").write_text('{"version": 0, "katas": {}}')
    lend(monkeypatch, sandbox)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C before the first save
        yield

    monkeypatch.setattr(watching, "watch", interrupted)
    result = CliRunner().invoke(main, ["watch", "--path", str(ws)], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "could not be used (state version 0, this grader writes version 1)" in result.stdout
    assert [p.name for p in (ws / ".kata").iterdir() if "kata-backup" in p.name] != []
