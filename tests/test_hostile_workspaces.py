"""Grading untrusted folders: the grader's own process, hangs, special files, metadata, devices,
resource exhaustion, strict output and cleanup. Each test reproduces one way a workspace or a
submission once broke the grader's guarantees (docs/threat-model.md lists them), as root and,
where it matters, as an unprivileged user (`kata-test`, created when run as root).

Timing bounds are generous: the machine is shared, and a starved child is given up to
STARVED_MAX times its timeout (grader.sandbox.pool).
"""
from __future__ import annotations

import fcntl
import os
import resource
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import torch

from grader import registry
from grader.core import engine, files, runfolders, workspace
from grader.core.results import CheckResult, KataResult, Report
from grader.sandbox import plain, procs
from grader.sandbox.pool import STARVED_MAX, Job, Limits, Outcome
from tests.conftest import TESTS, solution_source
from tests.sandbox_env import Runner, strict_json, unprivileged_runner

HOSTILE = TESTS / "hostile"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a tmpfs, a bind mount, or root's own powers)")
LANDLOCK = procs.landlock_abi()


def hostile(name: str, **placeholders: str) -> str:
    source = (HOSTILE / f"{name}.py").read_text()
    for key, value in placeholders.items():
        source = source.replace(f"__{key}__", value)
    return source


def stub(name: str) -> str:
    return workspace.stub_source(registry.get(name))


def said(result) -> str:
    return "\n".join([result.message] + [c.message for c in result.checks])


@pytest.fixture(scope="module")
def user():
    runner, why, cleanups = unprivileged_runner()
    yield runner, why
    for c in reversed(cleanups):
        c()


@pytest.fixture
def open_tmp():
    """A temporary folder another user can reach (pytest's own are private to root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kata-hostile-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    runfolders.remove_tree(folder)


def as_user(user) -> Runner:
    runner, why = user
    if runner is None:
        pytest.skip(why)
    return runner


def make_ws(folder: Path, sources: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (folder / f"{name}.py").write_text(text)
    return folder


# ----------------------------------------------------------------- 1. the grader imports only itself
SHADOWED = ["json", "torch", "select", "resource", "ctypes", "platform", "glob", "tempfile", "traceback", "inspect",
            "pickle", "zipfile", "signal", "subprocess", "importlib"]


def test_grader_never_imports_from_the_graded_folder(tmp_path):
    """`cd candidate && kata grade`: modules in the folder (json.py, torch.py, a patched grader/
    package that would make every stub pass) are never imported by the grader or its zygote."""
    ws = make_ws(tmp_path / "ws", {"get_probs": stub("get_probs"), "dpo": stub("dpo")})
    marker = tmp_path / "imported"
    for name in SHADOWED:
        (ws / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name}\\n')\nraise SystemExit(7)\n")
    (ws / "grader").mkdir()
    (ws / "grader" / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write('grader\\n')\n")
    done = Runner().kata(["grade", "--json", "--timeout", "20", "--path", ".", "get_probs", "dpo"], cwd=ws,
                         folder=tmp_path)
    assert not marker.exists(), f"imported from the workspace: {marker.read_text()}"
    assert done.code == 1, done.stderr
    report = strict_json(done.stdout)
    assert {k["name"]: k["status"] for k in report["katas"]} == {"get_probs": "not_started", "dpo": "not_started"}


def test_the_zygote_command_has_no_working_folder_on_its_path():
    from grader.sandbox.pool import PACKAGE_ROOT, zygote_command

    cmd = zygote_command()
    assert "-E" in cmd and cmd[-1] == PACKAGE_ROOT and "-m" not in cmd
    assert ("-P" in cmd) == (sys.version_info >= (3, 11))


# ----------------------------------------------------------------- 2, 3, 8. a child's files are untrusted data
def _raw(tree, tensors=(), body: bytes = b"", header: bytes | None = None) -> bytes:
    """A result file in grader.sandbox.plain's format, written by hand: what a child that does
    not use the writer can leave."""
    import json

    head = json.dumps({"tree": tree, "tensors": list(tensors)}).encode() if header is None else header
    data = plain.MAGIC + len(head).to_bytes(8, "little") + head
    return data + b"\0" * (-len(data) % plain.ALIGN) + body


def _record_with(tensor_entry, body: bytes) -> bytes:
    return _raw({"runs": [{"outputs": [{"\0tensor": 0}], "types": [{}]}]}, [tensor_entry], body)


def _deep(depth: int):
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


HUGE = torch.zeros(1, dtype=torch.float64).expand(2**26)
# name -> (what to leave as result.bin, what to leave as output.log, status, phrase)
CHILD_FILES = {
    "written_inf": ({"fatal": {"kind": "crash", "message": "m"}, "output": {"bytes": float("inf"), "tail": "t"}},
                    None, "error", "get_probs.py: m"),
    "bytes_too_large": ({"fatal": {"kind": "crash", "message": "m"}, "output": {"bytes": 2**80, "tail": "t"}},
                        None, "error", "could not be judged (they hold an integer out of range at the top['output']"),
    "fatal_not_a_record": ({"fatal": ["x"], "output": {"bytes": "lots", "tail": ["t"]}}, None, "error",
                           "could not be judged (TypeError: 'fatal' is not a record with a message)"),
    "tail_of_many_values": ({"output": {"bytes": 1, "tail": [0] * 300_000}}, None, "error",
                            "could not be judged (they hold more than 200000 values"),
    "nested_too_deep": ({"output": {"bytes": 1, "tail": _deep(300)}}, None, "error",
                        "could not be judged (they nest deeper than 32 levels"),
    "stride_zero_views": ({"runs": [{"outputs": [HUGE], "types": [{}]}]}, None, "error",
                          "could not be judged (they hold a tensor of shape (67108864,)"),
    "not_a_record": ([1, 2, 3], None, "error", "could not be judged (they are a list, not a record)"),
    # files in grader.sandbox.plain's format that its writer would never produce
    "a_pickle": (b"\x80\x04\x95" + b"\0" * 64, None, "error",
                 "could not be judged (they are not in the grader's results format"),
    "header_past_the_end": (plain.MAGIC + (1 << 40).to_bytes(8, "little") + b"{}", None, "error",
                            "could not be judged (they claim a header of 1099511627776 bytes"),
    "header_not_json": (_raw(None, header=b"{\"tree\": [[[["), None, "error",
                        "could not be judged (they are not readable (JSONDecodeError"),
    "header_nested_past_the_parser": (_raw(None, header=b"[" * 200_000 + b"]" * 200_000), None, "error",
                                      "could not be judged (they are not readable (RecursionError"),
    "no_tensor_table": (_raw(None, header=b'{"tree": {}}'), None, "error",
                        "could not be judged (they lack the tree and tensor table"),
    "tensor_not_in_the_table": (_raw({"runs": [{"\0tensor": 3}]}), None, "error",
                                "could not be judged (they refer to a tensor that is not in their table at the top"),
    "tensor_bytes_past_the_end": (_record_with(["float64", [4], [1], 0, 0, 32], b"\0" * 16), None, "error",
                                  "could not be judged (they place a tensor's bytes outside the file"),
    "tensor_past_its_storage": (_record_with(["float64", [4], [3], 0, 0, 64], b"\0" * 64), None, "error",
                                "could not be judged (they describe a tensor that reaches past its storage"),
    "tensor_of_an_unknown_dtype": (_record_with(["object", [1], [1], 0, 0, 8], b"\0" * 64), None, "error",
                                   "could not be judged (they describe a tensor malformedly"),
    "tensor_with_a_negative_stride": (_record_with(["float64", [2], [-1], 1, 0, 16], b"\0" * 64), None, "error",
                                      "could not be judged (they describe a tensor malformedly"),
    "malformed_tag": (_raw({"runs": {"\0size": "big"}}), None, "error", "could not be judged (they hold a malformed 'size'"),
    "refused_value": (_raw({"runs": [{"\0refused": "get_probs.Agreeable (a torch.Tensor subclass)"}]}), None,
                      "error", "results are not plain tensors and data: it contains a get_probs.Agreeable (a "
                      "torch.Tensor subclass), which the grader does not load"),
    # audit 5, P2: a value Python cannot build (OverflowError in complex()) stopped the whole cohort
    "complex_past_float": (_raw({"x": {"\0complex": [10**400, 0]}}), None, "error",
                           "could not be judged (they hold a malformed 'complex' value at the top['x'])"),
    # audit 5, P5: a lone surrogate in the child's text stopped every writer of the report
    "surrogate_in_a_message": ({"fatal": {"kind": "crash", "message": "bad \ud800 value"}}, None, "error",
                               "get_probs.py: bad \\ud800 value"),
    "result_fifo": ("fifo", None, "error", "result.bin is a FIFO (named pipe), not a regular file"),
    "result_folder": ("dir", None, "error", "result.bin is a directory, not a regular file"),
    "result_zero_link": ("/dev/zero", None, "error", "result.bin is a symbolic link"),
    "result_sparse_1gb": ("sparse", None, "error", "result.bin is 1024.0 MB; at most 64 MB is read"),
    "log_fifo": ({"fatal": {"kind": "crash", "message": "m"}}, "fifo", "error", "get_probs.py: m"),
    "log_zero_link": ({"fatal": {"kind": "crash", "message": "m"}}, "/dev/zero", "error", "get_probs.py: m"),
}


def _leave(path: Path, what) -> None:
    if what == "fifo":
        os.mkfifo(path)
    elif what == "dir":
        path.mkdir()
    elif what == "sparse":
        with open(path, "wb") as f:
            f.truncate(1 << 30)
    elif isinstance(what, str):
        path.symlink_to(what)
    elif isinstance(what, bytes):
        path.write_bytes(what)
    else:
        plain.dump(what, str(path))


@pytest.mark.parametrize("name", list(CHILD_FILES))
def test_a_childs_files_are_judged_as_untrusted_data(name, tmp_path):
    """Whatever a child leaves as its result or log, judging returns that kata's result, promptly,
    without reading more than the caps (the grader's own memory) or raising."""
    result, log, status, phrase = CHILD_FILES[name]
    d = tmp_path / "0" / "get_probs"
    d.mkdir(parents=True)
    _leave(d / "result.bin", result)
    if log is not None:
        _leave(d / "output.log", log)
    options = engine.Options()
    plan = engine._Plan(registry.get("get_probs"), options, tmp_path)
    job = Job(id="0/get_probs", kata="get_probs", dir=str(d), file=str(d / "get_probs.py"), cases=str(plan.cases_file),
              result=str(d / "result.bin"), log=str(d / "output.log"), seed=0, cuda="off", limits=options.limits)
    started = time.monotonic()
    verdict = engine._judge(plan, Outcome(job, code=0), options)
    assert time.monotonic() - started < 5
    assert (verdict.status, phrase in verdict.message) == (status, True), verdict.message
    (verdict.message + verdict.output).encode("utf-8")  # strict UTF-8 takes it (no lone surrogate)


# ----------------------------------------------------------------- 4. special files in a workspace
def test_special_files_in_a_workspace_are_errors_that_say_why(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    os.mkfifo(ws / "dpo.py")
    (ws / "get_probs.py").mkdir()
    (ws / "sequence_logps.py").symlink_to("/dev/zero")
    with open(ws / "ipo.py", "wb") as f:
        f.truncate(1 << 30)
    (ws / "src").mkdir()
    (ws / "src" / "simpo_impl.py").write_text(solution_source("simpo"))
    (ws / "simpo.py").symlink_to(ws / "src" / "simpo_impl.py")  # a link inside the workspace is followed
    (ws / ".kata").mkdir()
    os.mkfifo(ws / ".kata" / "state.json")  # the progress file too: read without blocking, then replaced
    done = Runner().kata(["grade", "--json", "--timeout", "20", "--path", str(ws), "dpo", "get_probs",
                          "sequence_logps", "ipo", "simpo"], cwd=tmp_path, folder=tmp_path)
    assert done.code == 1, done.stderr
    katas = {k["name"]: k for k in strict_json(done.stdout)["katas"]}
    expected = {"dpo": "dpo.py is a FIFO (named pipe), not a regular file",
                "get_probs": "get_probs.py is a directory, not a regular file",
                "sequence_logps": "sequence_logps.py is a link to /dev/zero, outside the workspace",
                "ipo": "ipo.py is 1024.0 MB; at most 1 MB is read"}
    for name, phrase in expected.items():
        assert katas[name]["status"] == "error" and katas[name]["message"].startswith(phrase), katas[name]
        assert "Nothing was run." in katas[name]["message"]
    assert katas["simpo"]["status"] == "pass", katas["simpo"]
    assert done.max_rss_mb < 1500, f"the run needed {done.max_rss_mb:.0f} MB"
    assert "state.json is a FIFO (named pipe), not a regular file; progress starts afresh." in \
        done.stderr.replace("\n", "")  # the notice is wrapped at the terminal's width
    assert (ws / ".kata" / "state.json").is_file()


def test_a_huge_helper_module_is_refused_once_not_copied_per_kata(tmp_path):
    ws = make_ws(tmp_path / "ws", {"get_probs": solution_source("get_probs"), "dpo": solution_source("dpo")})
    with open(ws / "big.py", "wb") as f:
        f.truncate(1 << 30)
    done = Runner().kata(["grade", "--json", "--timeout", "20", "--path", str(ws), "get_probs", "dpo"], cwd=tmp_path,
                         folder=tmp_path, env={"TMPDIR": str(tmp_path)})
    katas = strict_json(done.stdout)["katas"]
    for k in katas:
        assert k["status"] == "error", k
        assert k["message"].startswith("the workspace's module big.py is 1024.0 MB; at most 1 MB is read."), k
    assert done.max_rss_mb < 1500 and done.seconds < 120, (done.max_rss_mb, done.seconds)


def test_helper_modules_are_copied_once_per_workspace(grade_files, tmp_path):
    helper = "SCALE = 1.0\n"
    source = "from helpers import SCALE\n" + solution_source("get_probs")
    report = grade_files({"get_probs": source, "dpo": "from helpers import SCALE\n" + solution_source("dpo"),
                          "helpers": helper}, ["get_probs", "dpo"])
    assert [k.status for k in report.katas] == ["pass", "pass"], [said(k) for k in report.katas]


# ----------------------------------------------------------------- 5, 7. metadata, devices, terminals
@pytest.fixture
def pty_slave():
    master, slave = os.openpty()
    yield slave, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def _probe_lines(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def _clear_immutable(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, 0x40086602, struct.pack("i", 0))
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.mark.parametrize("landlock", [True, False], ids=["landlock", "no_landlock"])
def test_a_child_cannot_change_metadata_type_into_terminals_or_reach_devices(landlock, grade_files, tmp_path,
                                                                              pty_slave):
    if landlock and LANDLOCK < procs.CONFINES_WRITES:
        pytest.skip("this kernel has no Landlock (ABI 3+)")
    slave, tty = pty_slave
    ws = tmp_path / "ws"
    (ws / ".kata").mkdir(parents=True)
    target = ws / "get_probs.py"
    source = hostile("probes_devices", PTY=tty, TARGET=str(target), STATE=str(ws / ".kata"))
    try:
        report = grade_files({"get_probs": source}, ["get_probs"], confine=landlock, timeout=20)
    finally:
        _clear_immutable(ws / ".kata")
        for p in Path("/dev/shm").glob("kata-hostile-*"):
            p.unlink()
    result = report.katas[0]
    lines = _probe_lines(result.output)
    assert result.status == "pass", said(result)
    assert lines["chmod"].startswith("denied (PermissionError: Operation not permitted)"), lines  # seccomp
    assert lines["immutable"].startswith("denied"), lines  # seccomp; no CAP_LINUX_IMMUTABLE
    assert lines["tiocsti"].startswith("denied"), lines  # no CAP_SYS_ADMIN; seccomp; Landlock ABI 5
    assert lines["ctty"].startswith("denied"), lines  # a session of its own: no controlling terminal
    assert (lines["stdin-is-tty"], lines["session-leader"]) == ("False", "True")
    assert lines["rlimit-cpu"] == "(20, 21)"
    assert termios.tcgetattr(slave) and _pending(slave) == 0, "characters were pushed into the terminal"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    if landlock:
        assert lines["loop"].startswith("denied (PermissionError"), lines
        assert lines["shm"].startswith("denied (PermissionError"), lines
    assert not list(Path("/dev/shm").glob("kata-hostile-*")) or not landlock


def test_a_child_cannot_set_other_processes_limits_or_leave_ipc_objects(grade_files):
    """prlimit needs only the same uid: a child could lower the zygote's open-file limit, its
    neighbours' file-size limit or the grader's CPU limit (audit 5, P1). System V shared memory and
    POSIX message queues outlive every process (P6). Audit 6: io_uring set an empty ACL on a
    neighbour's files (P1), 256 processes in sessions of their own starved a neighbour (P2), memfd
    held 2.4 GB under a 256 MB limit (P3), kernel keys outlived the run (P4), a neighbour's
    scheduling could be changed (P5). The seccomp filter refuses them all; a child may still set
    its own limits, affinity and priority, and read anyone's limits."""
    mine = resource.getrlimit(resource.RLIMIT_CPU)
    report = grade_files({"get_probs": hostile("limits_others"), "dpo": solution_source("dpo")}, ["get_probs", "dpo"])
    probe, neighbour = report.katas
    lines = _probe_lines(probe.output)
    assert probe.status == "pass" and neighbour.status == "pass", (said(probe), said(neighbour))
    allowed = ("prlimit-self-0", "prlimit-self-pid", "prlimit-read-zygote", "affinity-self", "priority-self")
    assert [lines[name] for name in allowed] == ["done"] * len(allowed), lines
    for name in ("prlimit-zygote", "prlimit-grader", "shmget", "msgget", "semget", "mq_open", "affinity-zygote",
                 "priority-zygote", "setsid-in-fork", "memfd", "add_key", "io_uring"):
        assert lines[name] == "denied (PermissionError: Operation not permitted)", (name, lines)
    assert resource.getrlimit(resource.RLIMIT_CPU) == mine
    assert not Path("/dev/mqueue/kata-hostile-mq").exists()


def _pending(fd: int) -> int:
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return struct.unpack("i", buf)[0]


def test_as_a_user_a_child_cannot_chmod_the_users_files(user, open_tmp):
    runner = as_user(user)
    ws = open_tmp / "ws"
    (ws / ".kata").mkdir(parents=True)
    target = ws / "get_probs.py"
    target.write_text(hostile("probes_devices", PTY="/dev/null", TARGET=str(target), STATE=str(ws / ".kata")))
    tmp = open_tmp / "tmp"
    tmp.mkdir()
    runner.own(open_tmp)
    open_tmp.chmod(0o755)
    done = runner.kata(["grade", "--json", "--timeout", "20", "--path", str(ws), "get_probs"], cwd=tmp, folder=tmp,
                       env={"TMPDIR": str(tmp)})
    kata = strict_json(done.stdout)["katas"][0]
    lines = _probe_lines(kata["output"])
    assert kata["status"] == "pass", kata
    assert lines["chmod"].startswith("denied (PermissionError: Operation not permitted)"), lines
    assert target.stat().st_mode & 0o777 == 0o644


def test_the_snapshot_restores_mode_and_owner(tmp_path):
    """Where seccomp is missing, a child can chmod what it can name: the snapshot puts mode and owner back."""
    f = tmp_path / "dpo.py"
    f.write_text("x = 1\n")
    f.chmod(0o644)
    snap = files.Snapshot.take([f])
    f.chmod(0)
    if os.geteuid() == 0:
        os.chown(f, 4321, 4321)
    changes = snap.restore_changed(keep=[f])
    assert f.stat().st_mode & 0o777 == 0o644 and f.read_text() == "x = 1\n"
    if os.geteuid() == 0:
        assert (f.stat().st_uid, f.stat().st_gid) == (0, 0)
        assert [str(c) for c in changes] == [f"{f} (mode 0000 instead of 0644, owner 4321:4321 instead of 0:0; put back)"]


def test_as_a_user_a_file_made_unreadable_is_put_back_not_taken_for_deleted(user, open_tmp):
    runner = as_user(user)
    script = open_tmp / "check.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(workspace.PACKAGE_ROOT)!r})\n"
                      "from pathlib import Path\nfrom grader.core.files import Snapshot\n"
                      f"f = Path({str(open_tmp / 'ws' / 'dpo.py')!r})\n"
                      "snap = Snapshot.take([f])\nf.chmod(0)\n"
                      "print([str(c) for c in snap.restore_changed(keep=[f])], oct(f.stat().st_mode & 0o777))\n")
    make_ws(open_tmp / "ws", {"dpo": "x = 1\n"})
    runner.own(open_tmp)
    open_tmp.chmod(0o755)
    out = runner.run([runner.python, str(script)], capture_output=True, text=True, cwd=open_tmp)
    f = open_tmp / "ws" / "dpo.py"
    assert out.stdout.strip() == f"['{f} (mode 0000 instead of 0644; put back)'] 0o644", out.stderr


# ----------------------------------------------------------------- 6, 10. resources: disk, CPU
@pytest.fixture
def small_tmp(open_tmp):
    """A 200 MB temporary folder of its own (tmpfs; root only), so a child can fill it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = open_tmp / "smalltmp"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m,mode=1777", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.parametrize("who", ["root", "user"])
def test_a_child_that_fills_the_disk_is_blamed_and_its_neighbour_is_not(who, small_tmp, open_tmp, user):
    runner = Runner() if who == "root" else as_user(user)
    alice = make_ws(open_tmp / "alice", {"get_probs": solution_source("get_probs")})
    filler = make_ws(open_tmp / "filler", {"get_probs": hostile("fills_disk")})
    runner.own(open_tmp)
    open_tmp.chmod(0o755)
    out = small_tmp / "run"
    out.mkdir()
    runner.own(out)
    done = runner.kata(["report", str(alice), str(filler), "--kata", "get_probs", "--parallel", "2", "--timeout", "30",
                        "--json", str(open_tmp / "report.json")], cwd=out, folder=out, env={"TMPDIR": str(small_tmp)})
    assert done.code == 1, done.stderr
    people = {p["person"]: p["katas"][0] for p in strict_json((open_tmp / "report.json").read_text())["people"]}
    assert people["alice"]["status"] == "pass", people["alice"]
    assert people["filler"]["status"] == "error", people["filler"]
    assert people["filler"]["message"].startswith("filled the temporary folder (it left "), people["filler"]
    assert not [p for p in small_tmp.iterdir() if p.name.startswith("kata-run-")]


@ROOT_ONLY
def test_the_graders_own_write_failing_is_an_error_not_a_traceback(small_tmp, tmp_path):
    ws = make_ws(tmp_path / "ws", {"get_probs": solution_source("get_probs")})
    with open(small_tmp / "full", "wb", buffering=0) as f:  # one page left: Python's probe of TMPDIR succeeds,
        for size in (16 << 20, 4096):                           # the grader's case files do not fit
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
        f.truncate(f.tell() - 4096)
    done = Runner().kata(["grade", "--json", "--path", str(ws), "get_probs"], cwd=tmp_path, folder=tmp_path,
                         env={"TMPDIR": str(small_tmp)})
    assert "Traceback" not in done.stderr, done.stderr
    kata = strict_json(done.stdout)["katas"][0]
    assert kata["status"] == "error" and kata["message"].startswith("the grader could not "), kata


def test_cpu_time_is_limited_per_child(grade_one):
    result = grade_one("get_probs", hostile("sigxcpu"), timeout=2)
    assert result.status == "timeout", said(result)
    assert result.message.startswith("used 2 s of CPU time (its threads together) and was stopped"), result.message


def test_a_cpu_hog_does_not_push_a_neighbour_past_its_limit(sandbox, tmp_path):
    hog = make_ws(tmp_path / "hog", {"get_probs": hostile("cpu_hog")})
    alice = make_ws(tmp_path / "alice", {"get_probs": solution_source("get_probs"), "dpo": solution_source("dpo")})
    options = engine.Options(limits=Limits(timeout=3), parallel=2)
    started = time.monotonic()
    hogged, alone = engine.grade_many(["get_probs", "dpo"], [hog, alice], options, sandbox=sandbox)
    assert [k.status for k in alone.katas] == ["pass", "pass"], [said(k) for k in alone.katas]
    assert hogged.katas[0].status == "timeout", said(hogged.katas[0])
    assert time.monotonic() - started < 3 * STARVED_MAX * 2 + 10


# ----------------------------------------------------------------- 9. contracts: JSON, terminal, read-only
def test_json_is_strict_whatever_the_numbers():
    check = CheckResult("behaviour", "fail", "diverged", details={"loss": [1.0, float("inf"), float("nan")]})
    text = Report([KataResult("dpo", "fail", [check])], seed=1).to_json()
    assert strict_json(text)["katas"][0]["checks"][0]["details"]["loss"] == [1.0, "Infinity", "NaN"]


def test_escape_sequences_never_reach_the_terminal(tmp_path):
    ws = make_ws(tmp_path / "ws", {"get_probs": hostile("escape_message")})
    done = Runner().kata(["grade", "--path", str(ws), "get_probs"], cwd=tmp_path, folder=tmp_path)
    assert done.code == 1, done.stderr
    assert "PASS" in done.stdout and "raised ValueError" in done.stdout
    for c in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert c not in done.stdout, repr(c)


def test_a_cohort_member_named_with_escapes_is_shown_defused(tmp_path):
    person = make_ws(tmp_path / "\x1b[31mbob", {"get_probs": solution_source("get_probs")})
    done = Runner().kata(["report", str(person), "--kata", "get_probs"], cwd=tmp_path, folder=tmp_path)
    assert done.code == 0, done.stderr
    assert "\x1b" not in done.stdout and "\ufffd[31mbob" in done.stdout


@pytest.mark.parametrize("who", ["root", "user"])
def test_a_read_only_workspace_is_graded(who, open_tmp, user):
    runner = Runner() if who == "root" else as_user(user)
    ws = make_ws(open_tmp / "ws", {"get_probs": solution_source("get_probs"), "dpo": stub("dpo")})
    graded = ws
    if who == "root":
        graded = open_tmp / "ro"
        graded.mkdir()
        subprocess.run(["mount", "--bind", str(ws), str(graded)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(graded)], check=True)
    else:
        runner.own(open_tmp)
        for p in (ws, *ws.iterdir()):
            os.chown(p, 0, 0)
        ws.chmod(0o555)
    try:
        done = runner.kata(["grade", "--json", "--path", str(graded), "get_probs", "dpo"], cwd=open_tmp,
                           folder=open_tmp / "run" if who == "root" else open_tmp)
    finally:
        if who == "root":
            subprocess.run(["umount", str(graded)], check=True)
        ws.chmod(0o755)
    assert done.code == 1, done.stderr
    assert {k["name"]: k["status"] for k in strict_json(done.stdout)["katas"]} == {"get_probs": "pass",
                                                                                   "dpo": "not_started"}
    assert f"progress was not recorded in {graded}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------- 10. cleanup on every exit
def _start_looping_grade(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    ws = make_ws(tmp_path / "ws", {"get_probs": "def get_probs(logits, labels):\n    while True:\n        pass\n"})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    from tests.sandbox_env import launcher

    p = subprocess.Popen([sys.executable, str(launcher(tmp_path)), "grade", "--timeout", "120", "--path", str(ws),
                          "get_probs"], cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the child runs: its log exists
        if list(tmp.glob(f"kata-run-{p.pid}-*/0/get_probs/output.log")):
            time.sleep(0.5)
            return p, tmp
        time.sleep(0.1)
    p.kill()
    raise AssertionError("the grade never started its child")


def _gone(pids: list[int], within: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within
    while any(procs.is_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if procs.is_running(p)]


def test_sigterm_ends_the_run_and_removes_its_folder(tmp_path):
    p, tmp = _start_looping_grade(tmp_path)
    tree = procs.descendants(p.pid)
    assert len(tree) >= 2, "expected the zygote and its child"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM
    assert _gone(tree) == [], "the zygote or a child outlived SIGTERM"
    assert list(tmp.iterdir()) == []


def test_what_sigkill_leaves_is_removed_by_the_next_run(tmp_path):
    p, tmp = _start_looping_grade(tmp_path)
    tree = procs.descendants(p.pid)
    p.kill()
    p.wait()
    assert _gone(tree) == [], "the zygote or a child outlived the grader"  # the zygote sees its input close
    assert [d.name.split("-")[2] for d in tmp.iterdir()] == [str(p.pid)]
    ws = make_ws(tmp_path / "ws2", {"get_probs": solution_source("get_probs")})
    done = Runner().kata(["grade", "--json", "--path", str(ws), "get_probs"], cwd=tmp_path, folder=tmp_path,
                         env={"TMPDIR": str(tmp)})
    assert done.code == 0, done.stderr
    assert list(tmp.iterdir()) == []


def test_as_a_user_a_folder_the_child_made_unlistable_is_removed(user, open_tmp):
    runner = as_user(user)
    ws = make_ws(open_tmp / "ws", {"get_probs": hostile("hard_to_delete")})
    tmp = open_tmp / "tmp"
    tmp.mkdir()
    runner.own(open_tmp)
    open_tmp.chmod(0o755)
    done = runner.kata(["grade", "--json", "--path", str(ws), "get_probs"], cwd=tmp, folder=open_tmp,
                       env={"TMPDIR": str(tmp)})
    assert strict_json(done.stdout)["katas"][0]["status"] == "pass", done.stdout
    assert [p.name for p in tmp.iterdir()] == [], "the run's folder was left behind"


# ----------------------------------------------------------------- the whole cohort
COHORT = ["sets_written_inf", "fifo_result", "fifo_log", "zero_link_result", "huge_tail", "stride_zero",
          "escape_message", "cpu_hog", "hard_to_delete", "segfault", "loop_at_call"]


def test_a_cohort_of_hostile_workspaces_gives_everyone_else_their_own_verdicts(tmp_path):
    """`kata report` over alice (correct) and a workspace for each way of attacking the grader: alice
    gets what she gets alone, every document is strict JSON, and the run's time and memory are bounded."""
    people = [make_ws(tmp_path / "alice", {"get_probs": solution_source("get_probs")})]
    for name in COHORT:
        people.append(make_ws(tmp_path / name, {"get_probs": hostile(name)}))
    specials = {"fifo_file": lambda p: os.mkfifo(p), "folder_file": lambda p: p.mkdir(),
                "zero_file": lambda p: p.symlink_to("/dev/zero"),
                "sparse_file": lambda p: open(p, "wb").truncate(1 << 30)}
    for name, make in specials.items():
        (tmp_path / name).mkdir()
        make(tmp_path / name / "get_probs.py")
        people.append(tmp_path / name)
    sparse_helper = make_ws(tmp_path / "sparse_helper", {"get_probs": solution_source("get_probs")})
    open(sparse_helper / "big.py", "wb").truncate(1 << 30)
    people.append(sparse_helper)
    done = Runner().kata(["report", *map(str, people), "--kata", "get_probs", "--timeout", "2", "--json",
                          str(tmp_path / "cohort.json"), "--csv", str(tmp_path / "cohort.csv")], cwd=tmp_path,
                         folder=tmp_path, env={"TMPDIR": str(tmp_path)})
    assert done.code == 1, done.stderr
    verdicts = {p["person"]: p["katas"][0] for p in strict_json((tmp_path / "cohort.json").read_text())["people"]}
    assert verdicts["alice"]["status"] == "pass", verdicts["alice"]
    expected = {"sets_written_inf": "pass", "fifo_log": "pass", "hard_to_delete": "pass", "escape_message": "fail",
                "cpu_hog": "timeout", "loop_at_call": "timeout"}
    for person, verdict in verdicts.items():
        if person != "alice":
            assert verdict["status"] == expected.get(person, "error"), (person, verdict)
    assert "\x1b" not in done.stdout
    assert not list(tmp_path.glob("kata-run-*"))
    print(f"\ncohort of {len(people)} workspaces: {done.seconds:.1f} s, largest process {done.max_rss_mb:.0f} MB")
    assert done.max_rss_mb < 1500, done.max_rss_mb
    assert done.seconds < 20 * 2 * STARVED_MAX, done.seconds


PIDS_CGROUPS = Path("/sys/fs/cgroup/pids")


@ROOT_ONLY
@pytest.mark.skipif(not (PIDS_CGROUPS / "cgroup.procs").exists(), reason="no cgroup v1 pids controller")
def test_a_fork_refused_under_a_pids_limit_is_that_jobs_not_the_sandboxs(tmp_path):
    """A submission that uses up a pids limit makes the zygote's next fork fail (EAGAIN): the zygote
    reports it for that job and keeps serving, and the job is tried again once the others have ended,
    so honest neighbours still get their verdicts (audit 5, P4: the zygote crashed, and every kata
    running read "the sandbox failed")."""
    people = [make_ws(tmp_path / "hog", {"get_probs": hostile("takes_every_pid")})]
    people += [make_ws(tmp_path / name, {"get_probs": solution_source("get_probs")}) for name in ("alice", "bob", "carol")]
    cgroup = PIDS_CGROUPS / f"kata-test-{os.getpid()}"
    cgroup.mkdir()
    (cgroup / "pids.max").write_text("80")

    def join() -> None:
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    try:
        done = subprocess.run([sys.executable, "-m", "grader", "report", *map(str, people), "--kata", "get_probs",
                               "--parallel", "2", "--timeout", "10", "--seed", "1", "--json",
                               str(tmp_path / "cohort.json")], cwd=tmp_path, preexec_fn=join, capture_output=True,
                              text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(TESTS.parent)})
    finally:
        for pid in (cgroup / "cgroup.procs").read_text().split():  # only what this test started is in it
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        for _ in range(100):
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.05)
    verdicts = {p["person"]: p["katas"][0] for p in strict_json((tmp_path / "cohort.json").read_text())["people"]}
    assert done.returncode == 1, done.stderr
    assert [verdicts[p]["status"] for p in ("alice", "bob", "carol")] == ["pass"] * 3, verdicts
    assert "the sandbox failed" not in verdicts["hog"]["message"], verdicts["hog"]


# ----------------------------------------------------------------- what a sandbox audit found
def test_an_exit_with_the_disk_full_code_blames_no_neighbour(grade_files):
    """The worker's "disk full" exit code is the child's say-so: a neighbour that left 20 MB, within
    its limit, is not blamed for a full disk the grader does not see, and the child that exits with
    the code again on its rerun is charged itself."""
    big = "import torch\ntorch.save(torch.zeros(5 << 20), 'debug_dump.pt')\n" + solution_source("get_probs")
    report = grade_files({"dpo": hostile("exits_unwritable"), "get_probs": big}, ["dpo", "get_probs"])
    dpo, get_probs = report.katas
    assert get_probs.status == "pass", said(get_probs)
    assert dpo.status == "error" and dpo.message.startswith("the process exited with the code the grader's worker "
                                                            "uses for a full temporary folder, twice"), dpo.message


def test_a_linked_state_folder_is_never_followed(tmp_path):
    """`.kata` linked into another person's workspace: grading this one neither reads nor writes theirs."""
    bob = make_ws(tmp_path / "bob", {"dpo": solution_source("dpo")})
    (bob / ".kata").mkdir()
    theirs = '{"version": 1, "katas": {"dpo": {"status": "pass"}}}\n'
    (bob / ".kata" / "state.json").write_text(theirs)
    alice = make_ws(tmp_path / "alice", {"dpo": stub("dpo")})
    (alice / ".kata").symlink_to(bob / ".kata")
    done = Runner().kata(["grade", "--json", "--path", str(alice), "dpo"], cwd=tmp_path, folder=tmp_path)
    assert strict_json(done.stdout)["katas"][0]["status"] == "not_started"
    assert (bob / ".kata" / "state.json").read_text() == theirs
    assert sorted(p.name for p in (bob / ".kata").iterdir()) == ["state.json"]
    assert f"progress was not recorded in {alice} ({alice / '.kata'} is a symbolic link; progress is not saved " \
        "through it); the grades above are complete." in done.stderr.replace("\n", "")


def test_more_helper_modules_than_the_cap_is_that_workspaces_error(sandbox, tmp_path):
    """Links to one helper (or thousands of small ones) would be copied for every run: past the cap
    they are that workspace's error, and a neighbour is graded as alone."""
    from grader.core.sources import HELPER_FILES

    crowded = make_ws(tmp_path / "crowded", {"dpo": solution_source("dpo"), "helper": "X = 1\n"})
    for i in range(HELPER_FILES):
        (crowded / f"link{i}.py").symlink_to(crowded / "helper.py")
    alone = make_ws(tmp_path / "alone", {"dpo": solution_source("dpo")})
    mine, theirs = engine.grade_many(["dpo"], [crowded, alone], engine.Options(), sandbox)
    assert mine.katas[0].status == "error", mine.katas[0].message
    assert mine.katas[0].message.startswith(f"the workspace holds more than {HELPER_FILES} Python files")
    assert theirs.katas[0].status == "pass"


def test_folders_nested_past_the_recursion_limit_are_removed(tmp_path):
    """A child may leave folders thousands deep (past PATH_MAX as one path) and unreadable ones."""
    root = tmp_path / "run"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)
    (root / "locked" / "inner").mkdir(parents=True)
    (root / "locked" / "inner" / "f").write_text("x")
    (root / "locked" / "inner").chmod(0)
    (root / "link").symlink_to(tmp_path)
    assert runfolders.remove_tree(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_leftover_processes_are_killed_in_a_few_passes_over_proc(tmp_path):
    """Hundreds of processes a child left behind cost the zygote a few passes over /proc, not two
    per process (which stalled it long enough to time out its neighbours). Run in a process of
    its own: here every child of the test process would count, the session's zygote included."""
    script = tmp_path / "orphans.py"
    script.write_text(
        "import signal, subprocess\n"
        "from grader.sandbox import procs\n"
        "passes = []\n"
        "real = procs.process_tree\n"
        "procs.process_tree = lambda: passes.append(1) or real()\n"
        "left = [subprocess.Popen(['sleep', '100']) for _ in range(200)]\n"
        "procs.kill_orphans(exclude=set())\n"
        "codes = {p.wait(timeout=10) for p in left}\n"
        "print(len(passes), codes == {-signal.SIGKILL})\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          cwd=workspace.PACKAGE_ROOT)
    passes, all_killed = done.stdout.split()
    assert all_killed == "True", done.stderr
    # At most three sweeps of three passes (a process killed a moment ago may not be a zombie yet,
    # so a second sweep can run); two per process (the old walk) would be hundreds.
    assert int(passes) <= 9, passes


def test_the_cpu_of_processes_a_child_started_counts_as_its_share():
    """A child that spins processes of its own (each in a session of its own) keeps its main
    thread waiting for a core: the time its processes used is its share, so its deadline is not
    extended as if others had crowded it out."""
    def others() -> float:  # the tree's CPU time beyond this process's own
        return (procs.tree_cpu_seconds(os.getpid()) or 0) - (procs.cpu_seconds(os.getpid()) or 0)

    before = others()
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                                "while time.process_time() - t < 0.5: pass\ntime.sleep(30)"], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while others() - before < 0.4:
            assert time.monotonic() < deadline, "the spinner's CPU time never showed in its parent's tree"
            time.sleep(0.1)
    finally:
        spinner.kill()
        spinner.wait()


def test_a_helper_module_that_imports_the_grader_is_refused(grade_files):
    """The kata file may not import the grader's catalogue (it holds each formula); nor may a
    helper module it imports."""
    report = grade_files({"dpo": "from helpers import dpo_loss\n",
                          "helpers": "from grader.catalog.dpo.spec import CONVENTIONS\n" + solution_source("dpo")},
                         ["dpo"])
    result = report.katas[0]
    assert result.status == "error"
    assert result.message.startswith("the workspace's module helpers.py:1: refused: the submission imports the "
                                      "grader's own code"), result.message
