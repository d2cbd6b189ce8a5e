"""Grading code we did not write: every hostile submission in tests/hostile/ ends in its own kata
with a clear verdict, within its limits, and leaves the user's files, the reference solutions
and the grader as they were. docs/threat-model.md says what this does not protect against.
"""
from __future__ import annotations

import _thread
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.core import engine, workspace
from grader.sandbox import confine, procs
from grader import registry
from grader.sandbox.pool import STARVED_MAX, Limits, Sandbox
from tests.conftest import TESTS, declared, solution_source

HOSTILE = TESTS / "hostile"
HONEST_TIMEOUT = 3  # seconds for a run where an honest kata must pass beside a hostile one
SLACK = 2.5  # seconds a kata may take beyond its timeout: the kill, the zygote's report, judging
# A child starved of CPU by others (this machine's load included) has its deadline extended up to
# STARVED_MAX times its timeout (grader.sandbox.pool): the bounds below allow for it.
MARKER = b"# kata-hostile-test-marker"  # written by tests/hostile/tamper.py
GRADER = workspace.PACKAGE_ROOT / "grader"


@pytest.fixture(scope="module", autouse=True)
def warm_sandbox(sandbox):
    """The timings below are a kata's, not the zygote's first `import torch`: it is warm before they start."""
    from grader.core import engine as _engine

    _engine.grade(["get_probs"], None, _engine.Options(), reference=True, sandbox=sandbox)


def hostile(name: str, **placeholders: str) -> tuple[str, str]:
    """(kata, source) of tests/hostile/NAME.py, with `__KEY__` placeholders filled in."""
    path = HOSTILE / f"{name}.py"
    source = path.read_text()
    for key, value in placeholders.items():
        source = source.replace(f"__{key}__", value)
    return declared(path, "kata"), source


def said(result) -> str:
    """Everything a kata's report says: its message and every check's."""
    return "\n".join([result.message] + [c.message for c in result.checks])


@pytest.fixture
def intact():
    """After the test, the reference solutions the hostile submissions target are byte-identical."""
    targets = [workspace.SOLUTIONS / "dpo.py", workspace.SOLUTIONS / "get_probs.py"]
    before = [p.read_bytes() for p in targets]
    yield
    assert [p.read_bytes() for p in targets] == before


@pytest.fixture
def tamper_guard():
    """Puts grader/ and solutions/ back however a tampering test ends, without touching edits
    that other people make meanwhile: only files carrying MARKER are restored or removed."""
    roots = (GRADER, workspace.SOLUTIONS)
    before = {p: p.read_bytes() for root in roots for p in root.rglob("*") if p.is_file()}
    yield
    for root in roots:
        for p in sorted(root.rglob("*"), key=lambda q: len(q.parts), reverse=True):
            if p.is_file() and MARKER in p.read_bytes():
                if p in before and MARKER not in before[p]:
                    p.write_bytes(before[p])
                elif p not in before:
                    p.unlink()
            elif p.is_dir() and p not in before and not any(p.iterdir()):
                p.rmdir()
    for p in [p for root in roots for p in root.rglob("tolerances*") if p.is_dir()]:
        if (p / "__init__.py").exists() and MARKER in (p / "__init__.py").read_bytes():
            shutil.rmtree(p)


# --------------------------------------------------------------------------- one verdict each
# name, limits, expected status, a phrase the report must contain
CASES = [
    ("loop_at_import", {"timeout": 1}, "timeout", "did not finish within 1 s"),
    ("loop_at_call", {"timeout": 1}, "timeout", "did not finish within 1 s"),
    ("exit_at_import", {}, "error", "get_probs.py:5: called sys.exit(0) while being imported"),
    ("exit_at_call", {}, "error", "get_probs.py:8: called sys.exit(0) while being graded"),
    ("os_exit_in_function", {}, "error", "exited (code 0) without reporting results"),
    ("segfault", {}, "error", "crashed with SIGSEGV (segmentation fault)"),
    ("segfault_at_import", {}, "error", "crashed with SIGSEGV (segmentation fault)"),
    ("exception", {}, "fail", "raised ValueError: boom from the submission"),
    ("wrong_signature", {}, "fail", "parameter 3 should be 'ref_chosen_logps', found nothing"),
    ("missing_function", {}, "error", "dpo.py defines no function 'dpo_loss'"),
    ("nan_outputs", {}, "fail", "got nan"),
    ("memory_at_call", {"memory_mb": 256}, "error",
     "ran out of memory while being graded: it needs more than the memory limit of 256 MB (--memory-mb)"),
    ("memory_growing", {"memory_mb": 256}, "error",
     "ran out of memory while being graded: it needs more than the memory limit of 256 MB (--memory-mb)"),
    ("memory_at_import", {"memory_mb": 256}, "error",
     "ran out of memory while being imported: it needs more than the memory limit of 256 MB (--memory-mb)"),
    ("patches_comparisons", {}, "fail", "cases differ. Not one of the catalogued mistakes"),
    ("lying_subclass", {}, "error", "the submission's results are not plain tensors and data: "
     "it contains a get_probs.Agreeable"),
    ("forged_result", {}, "error",
     "the submission's results could not be judged (runs: 0 reports 0 outputs; the kata has 1)"),
    ("forged_junk_result", {}, "error",
     "the submission's results could not be judged (TypeError: 'fatal' is not a record with a message)"),
    ("imports_reference", {}, "error", "refused: the submission imports the reference solutions"),
    ("imports_reference_at_call", {}, "error",
     "refused: the submission imports the reference solutions ('solutions') while being graded"),
    ("imports_reference_swallowed", {}, "error",
     "refused: the submission imports the reference solutions ('solutions') while being graded"),
    # what a child leaves behind is read as untrusted data (grader.sandbox.untrusted)
    ("sets_written_inf", {}, "pass", ""),
    ("fifo_log", {}, "pass", ""),
    ("fifo_result", {}, "error", "result.bin is a FIFO (named pipe), not a regular file"),
    ("zero_link_result", {}, "error", "result.bin is a symbolic link"),
    ("huge_tail", {}, "error", "could not be judged (they hold more than 200000 values"),
    ("stride_zero", {}, "error", "could not be judged (they hold a tensor of shape (67108864,) at the top["),
    ("sigxcpu", {"timeout": 2}, "timeout", "used 2 s of CPU time (its threads together) and was stopped"),
    # what passed, or blamed the grader or a neighbour, until an audit of the sandbox
    ("imports_grader", {}, "error", "refused: the submission imports the grader's own code"),
    ("removes_guard", {}, "error", "the grader's import guard was removed from sys.meta_path"),
    ("finder_before_guard", {}, "error", "refused: the submission imports the reference solutions ('solutions"),
    ("exits_unwritable", {}, "error", "exited with the code the grader's worker uses for a full temporary folder, "
     "twice, while the folder had room"),
    ("deep_folders", {}, "pass", ""),
    ("half_outputs", {}, "fail", "should be float32 (the inputs' dtype), got float16"),
    ("forges_records", {}, "error", "the submission's results could not be judged (the report['runs'][0]['types'][0]"),
    ("forges_short_types", {}, "error", "the submission's results could not be judged (the report['runs'][0]['types'][0]"),
    ("forges_gradcheck", {}, "error", "the submission's results could not be judged (the report['gradcheck'] has an "
     "unknown form"),
]


@pytest.mark.parametrize("name, limits, status, phrase", CASES, ids=[c[0] for c in CASES])
def test_hostile_submission_gets_its_verdict(name, limits, status, phrase, grade_one, intact, tmp_path):
    kata, source = hostile(name)
    limits = {"timeout": 10.0, **limits}
    started = time.monotonic()
    result = grade_one(kata, source, **limits)
    elapsed = time.monotonic() - started
    assert (result.status, phrase in said(result)) == (status, True), said(result)
    assert elapsed < limits["timeout"] * STARVED_MAX + SLACK if status == "timeout" else elapsed < 8, elapsed
    assert (tmp_path / "ws" / f"{kata}.py").read_text() == source


def test_patched_comparisons_fail_at_values(grade_one):
    """Patching torch/numpy comparisons in the child changes nothing: judging happens in the grader."""
    result = grade_one(*hostile("patches_comparisons"))
    values = next(c for c in result.checks if c.name == "values")
    assert values.status == "fail", values.message


def test_chatty_submission_is_graded_and_shows_a_tail(grade_one):
    result = grade_one(*hostile("chatty"))
    assert result.status == "pass", said(result)
    header = result.output.splitlines()[0]
    assert header.startswith("[5") and header.endswith("bytes printed; last 4096 characters]"), header
    assert int(header[1:].split()[0]) > 5_000_000
    assert result.output.rstrip().endswith("chatty: the last line")
    assert len(result.output) < 4200


def test_terminal_escapes_in_output_are_neutralised(grade_one):
    result = grade_one(*hostile("terminal_escapes"))
    assert result.status == "fail"
    assert result.output == "\ufffd[1A\ufffd[2K\ufffd  \ufffd[32mPASS\ufffd[0m get_probs (all checks pass)\n"


# --------------------------------------------------------------------------- other katas unaffected
@pytest.mark.parametrize("name", ["segfault", "os_exit_in_function", "loop_at_call", "memory_growing", "exit_at_call"])
def test_a_crash_stays_in_its_kata(name, grade_files):
    kata, source = hostile(name)
    # The timeout leaves the honest kata room on a loaded machine: at 1 s, dpo's own probe timed out once in CI.
    report = grade_files({kata: source, "dpo": solution_source("dpo")}, [kata, "dpo"], timeout=HONEST_TIMEOUT,
                         memory_mb=256)
    by_name = {k.name: k for k in report.katas}
    assert by_name[kata].status in ("error", "timeout"), said(by_name[kata])
    assert by_name["dpo"].status == "pass", said(by_name["dpo"])


# --------------------------------------------------------------------------- no process outlives its kata
def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not yet reaped
    except OSError:
        return False


def _gone(pids: list[int], within: float = 2.0) -> list[int]:
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc")
@pytest.mark.parametrize("loop", [False, True], ids=["returns", "times_out"])
def test_spawned_processes_end_with_their_kata(loop, grade_one):
    kata, source = hostile("spawns", LOOP=str(loop))
    started = time.monotonic()
    result = grade_one(kata, source, timeout=2)
    elapsed = time.monotonic() - started
    lines = [line for line in result.output.splitlines() if line.startswith("spawned: ")]
    pids = [int(p) for p in lines[0].split()[1:]] if lines else []
    try:
        assert len(pids) == 4, result.output
        if confine.seccomp_architecture():  # seccomp refuses a new session (audit 6, P2)
            assert "new sessions refused: 3" in result.output, result.output
        assert result.status == ("timeout" if loop else "pass"), said(result)
        assert elapsed < 2 * STARVED_MAX + SLACK
        assert _gone(pids) == [], "processes the submission started outlived its kata"
    finally:
        for p in pids:  # never leave a sleeper behind, even when the test fails
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


# --------------------------------------------------------------------------- the sandbox itself attacked
CONFINED = procs.landlock_abi() >= procs.CONFINES_WRITES
CONFINES_SIGNALS = procs.landlock_abi() >= procs.CONFINES_SIGNALS
needs_landlock = pytest.mark.skipif(not CONFINED, reason="this kernel has no Landlock (ABI 3+) to confine writes")


def test_killed_zygote_fails_that_kata_and_the_next_is_graded(grade_files, grade_one):
    """Unconfined (or without Landlock 6), a child can kill the zygote: that kata errors, a fresh
    zygote grades the rest, and the sandbox keeps working."""
    kata, source = hostile("kills_zygote")
    report = grade_files({kata: source, "dpo": solution_source("dpo")}, [kata, "dpo"], timeout=5, parallel=1,
                         confine=False)
    by_name = {k.name: k for k in report.katas}
    assert by_name[kata].status == "error"
    assert by_name[kata].message.startswith("the sandbox failed: the sandbox process exited unexpectedly while "
                                            "this kata ran"), by_name[kata].message
    assert by_name["dpo"].status == "pass", said(by_name["dpo"])
    assert grade_one("get_probs", solution_source("get_probs")).status == "pass"  # the sandbox was restarted


def test_stopped_zygote_times_out_that_kata_and_the_next_is_graded(grade_files):
    kata, source = hostile("stops_zygote")
    started = time.monotonic()
    report = grade_files({kata: source, "dpo": solution_source("dpo")}, [kata, "dpo"], timeout=1, parallel=1,
                         confine=False)
    elapsed = time.monotonic() - started
    by_name = {k.name: k for k in report.katas}
    assert by_name[kata].status == "timeout", said(by_name[kata])
    assert by_name["dpo"].status == "pass", said(by_name["dpo"])
    assert elapsed < 1 * STARVED_MAX + SLACK + 3


def test_forged_events_are_not_believed(grade_files):
    """Unconfined, a child can write into the zygote's report pipe. Junk is ignored, a forged PID is
    checked against the zygote's children (else the timeout would kill the victim), and a forged
    'exited' ends the child for real."""
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        kata, source = hostile("forges_events", VICTIM=str(victim.pid))
        looping_dpo = "def dpo_loss(*args, **kwargs):\n    while True:\n        pass\n"
        report = grade_files({kata: source, "dpo": looping_dpo}, [kata, "dpo"], timeout=1, parallel=1, confine=False)
        by_name = {k.name: k for k in report.katas}
        assert by_name[kata].status == "error", said(by_name[kata])
        if os.geteuid() == 0:  # a child without capabilities may not open the pipes of a zygote that has them
            assert by_name[kata].message.startswith("get_probs.py:15: PermissionError: [Errno 13] Permission "
                                                    "denied: '/proc/"), by_name[kata].message
        else:
            assert "without reporting results" in by_name[kata].message
        assert by_name["dpo"].status == "timeout", said(by_name["dpo"])
        assert victim.poll() is None, "the timeout killed a process the grader never started"
        forger = int(by_name[kata].output.split("forger:")[1].split()[0])
        assert _gone([forger]) == [], "a forged 'exited' left the child running"  # or it ended by itself
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.skipif(not CONFINES_SIGNALS, reason="this kernel's Landlock (ABI < 6) does not scope signals")
@pytest.mark.parametrize("name", ["kills_zygote", "stops_zygote"])
def test_confined_child_cannot_signal_the_zygote(name, grade_one):
    kata, source = hostile(name)
    result = grade_one(kata, source, timeout=2)
    assert result.status == "fail", said(result)
    assert "raised PermissionError: [Errno 1] Operation not permitted" in said(result)


# --------------------------------------------------------------------------- files
@needs_landlock
def test_confined_child_cannot_write_outside_its_folder(grade_one, tamper_guard):
    reference = workspace.SOLUTIONS / "get_probs.py"
    before = reference.read_bytes()
    result = grade_one(*hostile("tamper"))
    assert result.status == "error"
    assert result.message.startswith(f"get_probs.py:19: PermissionError: [Errno 13] Permission denied: '{reference}'")
    assert reference.read_bytes() == before
    assert not (GRADER / "core" / "tolerances").exists()


def test_tampering_is_restored_reported_and_never_a_pass(grade_files, tamper_guard):
    """Without confinement (no Landlock, or confine=False) a submission can write anywhere the user
    can: what it changed in grader/ and solutions/ is undone before judging, and reported."""
    reference = workspace.SOLUTIONS / "get_probs.py"
    kata_py = GRADER / "core" / "kata.py"
    before = {reference: reference.read_bytes(), kata_py: kata_py.read_bytes()}
    kata, source = hostile("tamper")
    report = grade_files({kata: source}, [kata], confine=False)
    result = report.katas[0]
    assert result.status == "error", said(result)
    assert result.message.startswith("files outside the submission changed during the run: ")
    warning = " ".join(report.warnings)
    assert warning.startswith("files a submission must not touch changed during the run: ")
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was not restored"
        assert f"{path} (restored; the changed version is saved as {path}.kata-backup-" in warning
        saved = [p for p in path.parent.glob(f"{path.name}.kata-backup-*") if MARKER in p.read_bytes()]
        assert len(saved) == 1 and saved[0].read_bytes() == data + b"\n" + MARKER + b"\n"
    pyc = GRADER / "__pycache__" / f"hostile_marker.{sys.implementation.cache_tag}.pyc"
    assert not pyc.exists(), "planted bytecode was left in place"
    assert not (GRADER / "core" / "tolerances").exists(), "a package shadowing grader/core/tolerances.py was left in place"
    assert f"{GRADER / 'core' / 'tolerances'} (a new package shadowing a module; moved to " in warning


def test_results_past_the_file_cap_are_the_submissions_and_a_failing_writer_the_graders(grade_one):
    """Two ways a child exits without results, told apart: an output too large to store is the
    submission's doing; the grader's own writer raising (here made to, by the submission) is
    reported as the grader's, with what it raised."""
    huge = "import torch\n\n\ndef get_probs(logits, labels):\n    return torch.zeros(1_000_000)\n"
    result = grade_one("get_probs", huge, file_cap=2 << 20)
    assert result.status == "error"
    assert result.message == ("its results are larger than the 2 MB a kata's results may take: an output far larger "
                              "than the kata's (a tensor broadcast by mistake?) or one returned many times over.")
    breaks_writer = ("import importlib\n\nplain = importlib.import_module('grader.sandbox.plain')\n\n\ndef _broken(*args, **kwargs):\n"
                     "    raise RuntimeError('the writer broke')\n\n\nplain.dump = _broken\nprint('loaded')\n\n\n"
                     + solution_source("get_probs"))
    result = grade_one("get_probs", breaks_writer)
    assert result.status == "error"
    assert result.message == ("the sandboxed process ended as the grader's worker does when its own code fails "
                              "(RuntimeError: the writer broke). Either the grader failed after the submission ran (a "
                              "bug in the grader: please report it with this message), or the submission wrote that "
                              "line and ended its own process with the worker's exit code; the grader cannot tell "
                              "which, so the kata was not judged.")
    assert result.output == "loaded"  # the worker's own line is in the message, not shown as the submission's


def test_deleting_its_own_file_leaves_the_workspace(grade_files, tmp_path):
    kata, source = hostile("deletes_itself")
    helper = "# a helper module the candidate wrote\nSCALE = 1.0\n"
    report = grade_files({kata: source, "helpers": helper}, [kata])
    assert report.katas[0].status == "pass", said(report.katas[0])
    assert report.warnings == []
    ws = tmp_path / "ws"
    assert (ws / f"{kata}.py").read_text() == source
    assert (ws / "helpers.py").read_text() == helper


def test_an_editors_lock_link_in_the_workspace_is_left_out(grade_files, tmp_path):
    """Emacs keeps a dangling symbolic link `.#NAME.py` beside a file being edited: it is no helper to copy."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".#get_probs.py").symlink_to("someone@host.1234:1700000000")
    report = grade_files({"get_probs": solution_source("get_probs")}, ["get_probs"])
    assert report.katas[0].status == "pass", said(report.katas[0])


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc")
@pytest.mark.own_sandbox  # interrupted on purpose: a sandbox of its own
def test_ctrl_c_ends_the_children_and_still_undoes_tampering(tmp_path, tamper_guard):
    """Interrupted (Ctrl-C; in a notebook the sandbox lives on), a run ends every child it handed out,
    and what an unconfined child changed is restored before the interrupt goes through."""
    reference = workspace.SOLUTIONS / "get_probs.py"
    before = reference.read_bytes()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "get_probs.py").write_text(f"with open({str(reference)!r}, 'a') as f:\n    f.write({MARKER.decode()!r})\n\n\n"
                                     "def get_probs(logits, labels):\n    while True:\n        pass\n")

    def interrupt_once_tampered() -> None:
        deadline = time.monotonic() + 20
        while MARKER not in reference.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        _thread.interrupt_main()  # what Ctrl-C does to the grader

    with Sandbox.start() as sandbox:
        threading.Thread(target=interrupt_once_tampered, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            engine.grade(["get_probs"], ws, engine.Options(limits=Limits(timeout=30, confine=False)), sandbox=sandbox)
        left = procs.descendants(sandbox.proc.pid) if sandbox.proc.poll() is None else []
        assert _gone(left) == [], "the looping child outlived the interrupted run"
    assert reference.read_bytes() == before
    assert [p.read_bytes() for p in reference.parent.glob("get_probs.py.kata-backup-*") if MARKER in p.read_bytes()] \
        == [before + MARKER]


def test_rewriting_the_real_workspace_loses_nothing(grade_files, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    other = "def dpo_loss(*args, **kwargs):\n    raise NotImplementedError\n"
    kata, source = hostile("rewrites_workspace", REWRITE=str(ws / "get_probs.py"), DELETE=str(ws / "dpo.py"))
    report = grade_files({kata: source, "dpo": other}, [kata, "dpo"], confine=False)
    warning = " ".join(report.warnings)
    # deleted: put back; rewritten: left as it is (it may be the user's own edit) and the graded version kept
    assert (ws / "dpo.py").read_text() == other
    assert f"{ws / 'dpo.py'} (deleted; put back)" in warning
    assert (ws / "get_probs.py").read_text() == "# overwritten by the submission\n"
    saved = list(ws.glob("get_probs.py.kata-backup-*"))
    assert len(saved) == 1 and saved[0].read_text() == source
    assert f"{ws / 'get_probs.py'} (changed during the run and left as it is; the version graded is saved as " \
        f"{saved[0]})" in warning
    assert {k.name: k.status for k in report.katas} == {"get_probs": "error", "dpo": "not_started"}


# --------------------------------------------------------------------------- the whole CLI
GENERIC = ["loop_at_import", "exit_at_import", "segfault_at_import", "memory_at_import"]  # hostile for any kata


def test_a_workspace_of_hostile_files_gives_one_json_document(tmp_path):
    """`kata grade --json` over a workspace where every kata is hostile: one well-formed JSON
    document on stdout, exit code 1, within the sum of the timeouts plus a constant."""
    ws = tmp_path / "ws"
    ws.mkdir()
    names = registry.names()
    expected = {}
    for i, name in enumerate(names):
        kind = GENERIC[i % len(GENERIC)]
        shutil.copy(HOSTILE / f"{kind}.py", ws / f"{name}.py")
        expected[name] = "timeout" if kind.startswith("loop") else "error"
    timeout = 1
    started = time.monotonic()
    from tests.sandbox_env import launcher  # this checkout's grader, started as the `kata` script starts it

    proc = subprocess.run([sys.executable, str(launcher(tmp_path)), "grade", "--json", "--timeout", str(timeout),
                           "--memory-mb", "256", "--path", str(ws)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert {k["name"]: k["status"] for k in report["katas"]} == expected
    assert (report["passed"], report["total"]) == (0, len(names))
    assert elapsed < timeout * STARVED_MAX * len(names) + 10, elapsed
    for i, name in enumerate(names):
        assert (ws / f"{name}.py").read_bytes() == (HOSTILE / f"{GENERIC[i % len(GENERIC)]}.py").read_bytes()
