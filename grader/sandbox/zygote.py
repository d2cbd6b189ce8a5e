"""The sandbox's process: imports torch once, then forks one child per kata.

Started by `grader.sandbox.pool` with an import path of this package's root and the standard
library and site-packages only (never the working folder: it may be a workspace being graded). It reads jobs (one JSON object a
line) on stdin and reports on stdout when each child starts and how it ended. It loads
no submission itself: each forked child does, after it has left this process's pipes,
started its own session and taken its limits. Forking after the import is what lets a
run of several katas (or of many workspaces) pay for `import torch` once.

Every descendant a child leaves behind, even in a session of its own, is reparented to
this process (it is a child subreaper) and killed when its kata ends.

A child also confines itself before loading the submission (grader.sandbox.confine): it drops
every capability, refuses chmod/chown/TIOCSTI, SysV IPC and prlimit on others (seccomp) and, where the kernel has Landlock,
may write only beneath its own folder and to /dev/null-like files, use no device ioctl but a
GPU's (ABI 5) and signal neither this process nor the grader (ABI 6).
docs/threat-model.md lists what is and is not covered.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import select
import signal
import sys
import tempfile
import time
from typing import Any

from grader import registry
from grader.sandbox import confine, procs


def _limit(kind: int, value: int) -> None:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


LANDLOCK = 0  # the kernel's Landlock ABI, found once at start (0: none)
MAX_LINE = 1 << 20  # longest job line read from the grader
NPROC_MARGIN = 256  # threads and processes a child may add to the user's count (torch's own threads included)


def _take_limits(job: dict[str, Any]) -> None:
    """The child's limits. Memory is counted on top of what the zygote already holds (torch)."""
    _limit(resource.RLIMIT_CORE, 0)
    if job.get("cpu_s"):  # CPU time, all threads together: a hog is stopped by the kernel, not by a starved grader
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (int(job["cpu_s"]), int(job["cpu_s"]) + 1))  # SIGXCPU, then SIGKILL
        except (ValueError, OSError):
            pass
    _limit(resource.RLIMIT_FSIZE, job["file_cap"])
    if job.get("memory_mb"):
        extra = job["memory_mb"] * 2**20
        sizes = procs.memory_sizes()
        if "VmData" in sizes:  # private writable memory: malloc, torch's CPU allocator, anonymous mmap
            _limit(resource.RLIMIT_DATA, sizes["VmData"] + extra)
        # Address space also covers shared mappings, but CUDA reserves tens of GB of it when it
        # starts: a child that may probe CUDA gets the data limit only.
        if "VmSize" in sizes and not (job.get("cuda") != "off" and procs.gpu_present()):
            _limit(resource.RLIMIT_AS, sizes["VmSize"] + extra)
    if os.getuid() != 0:  # root ignores RLIMIT_NPROC (CAP_SYS_RESOURCE): no fork-bomb limit there
        _limit(resource.RLIMIT_NPROC, procs.user_tasks(os.getuid()) + NPROC_MARGIN)


def _confine(job: dict[str, Any]) -> None:
    """Give up what the submission must not have: capabilities and metadata calls always (where the
    kernel allows), Landlock when the job asks for it; exit (code 4) if Landlock was due and failed."""
    confine.drop_capabilities()
    confine.forbid_metadata_changes()
    if job.get("confine") and LANDLOCK:
        gpus = tuple(confine.gpu_paths()) if job.get("cuda") != "off" and procs.gpu_present() else ()
        if not confine.confine([job["dir"]], LANDLOCK, gpus=gpus):
            os.write(2, b"[grader] the sandboxed child could not confine itself (Landlock); nothing was run\n")
            os._exit(4)
        os.environ["TMPDIR"] = tempfile.tempdir = job["dir"]  # the one place it may write


def _child(job: dict[str, Any], out_fd: int) -> None:
    """In the forked child. Never returns."""
    from grader.sandbox.worker import (TOO_LARGE, UNWRITABLE, WORKER_FAILED, WORKER_FAILED_MARK, CappedWriter,
                                       ResultsTooLarge, ResultsUnwritable, run_job)

    code = 0
    try:
        os.setsid()  # a session of its own, and so no controlling terminal; the grader kills the group at the timeout
        procs.die_with_parent()  # if the zygote is killed, this child goes with it
        os.close(out_fd)  # the submission must not be able to write reports in our name
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # also closes our copy of the job pipe
        try:
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:  # e.g. a full temporary folder: not the submission's doing
            raise ResultsUnwritable(f"the log could not be created: {exc}") from None
        os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in {null, log} - {0, 1, 2}:  # log is fd 1 itself when out_fd was 1: keep it open
            os.close(fd)
        os.chdir(job["dir"])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file-size cap a write fails; the child lives on
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _take_limits(job)
        _confine(job)
        stdout, stderr = CappedWriter(1, job["output_cap"]), CappedWriter(2, job["output_cap"])
        sys.stdout, sys.stderr = stdout, stderr
        run_job(job, stdout, stderr)
    except ResultsTooLarge:  # the submission's outputs, not the grader
        code = TOO_LARGE
    except ResultsUnwritable as exc:  # the grader's side of the child failed, not the submission
        code = UNWRITABLE
        try:
            os.write(2, f"\n[grader] {exc}\n".encode())
        except BaseException:
            pass
    except BaseException as exc:  # the worker itself failed (e.g. its results exceed the file cap)
        code = WORKER_FAILED
        try:
            os.write(2, f"\n{WORKER_FAILED_MARK}{type(exc).__name__}: {exc}\n".encode())
        except BaseException:
            pass
    finally:
        os._exit(code)


def warm_meta_kernels() -> None:
    """Load what the first operation on a 'meta' tensor loads (sympy among it, ~0.4 s), once
    here rather than in every child's device-hygiene probe."""
    import torch

    from grader.checks.function import _dynamo_stand_in

    with _dynamo_stand_in():
        (torch.empty(2, device="meta") * 2).sum()


def import_specs(job: dict[str, Any]) -> None:
    """Import the spec a job's child will use, here, before the fork: children never read grader
    files, and a run pays only for the katas it grades. An experiment's child may use any kata's;
    a job that names none, none."""
    kata = registry.KATAS.get(job.get("kata")) if isinstance(job.get("kata"), str) else None
    if kata is None and job.get("experiment") is None:
        return
    wanted = list(registry.KATAS.values()) if job.get("experiment") is not None else [kata]
    new = [k.spec for k in wanted if k.spec not in sys.modules]
    for name in new:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  a grader bug: the child's own import fails and says so, for this kata only
            pass
    if new:
        keep_for_children()


def keep_for_children() -> None:
    """Keep everything imported so far for good: moved out of the collector's generations, a
    child's collections never walk torch's objects nor write into their pages (copy-on-write).
    That is about 40% of a child's CPU time on a short probe. (No collection first: imports
    leave next to no garbage, and one collection of torch's objects takes 0.1 s.)"""
    gc.freeze()


def main() -> None:
    # Collections during the imports find nothing: paused, torch's import is ~0.2 s shorter. The
    # collector runs again once what was imported is frozen (keep_for_children), in children too.
    gc.disable()
    import torch  # noqa: F401  (the point of this process: import once, fork many)
    import traceback  # noqa: F401  (what a child uses is imported here, before any workspace is on its path)

    import grader.sandbox.worker  # noqa: F401
    import grader.practice.experiment  # noqa: F401  (the child side of experiment jobs)

    warm_meta_kernels()
    keep_for_children()
    gc.enable()

    procs.become_subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when we stop
    out = sys.stdout.fileno()
    workers: dict[int, str] = {}  # pid -> job id
    forked: dict[int, float] = {}  # pid -> when it was forked (time.monotonic)

    def report(**event: Any) -> None:
        os.write(out, (json.dumps(event) + "\n").encode())

    global LANDLOCK
    LANDLOCK = procs.landlock_abi()
    report(event="ready", landlock=LANDLOCK)
    stdin = sys.stdin.fileno()
    buffer = b""
    open_input = True
    while open_input or workers:
        if open_input:
            ready, _, _ = select.select([stdin], [], [], 0.01)
            if ready:
                chunk = os.read(stdin, 65536)
                if not chunk:
                    open_input = False
                buffer += chunk
                if b"\n" not in buffer and len(buffer) > MAX_LINE:
                    buffer = b""  # no job is this long: junk written into our pipe (unconfined child)
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        job = json.loads(line) if len(line) <= MAX_LINE else None
                    except (ValueError, RecursionError):
                        job = None
                    if isinstance(job, dict) and isinstance(job.get("preload"), list):
                        for kata in job["preload"][:64]:  # the katas a run will grade (Sandbox.preload)
                            import_specs({"kata": kata} if kata in registry.KATAS else {})
                        continue
                    if not isinstance(job, dict) or not {"id", "dir", "file", "log"} <= job.keys():
                        continue  # not a job from the grader: ignore it rather than stop every kata
                    import_specs(job)
                    try:
                        pid = os.fork()
                    except OSError as exc:  # EAGAIN under a pids limit (another child may have used it up):
                        report(event="refused", id=job["id"], error=str(exc.strerror or exc)[:200])
                        continue  # that job's failure, not the end of every other's
                    if pid == 0:
                        _child(job, out)
                    workers[pid], forked[pid] = job["id"], time.monotonic()
                    report(event="started", id=job["id"], pid=pid)
        else:
            for pid in list(workers):  # the grader has gone: nobody wants these results
                procs.kill_group(pid)
            select.select([], [], [], 0.01)
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in workers:
                job_id, seconds = workers.pop(pid), round(time.monotonic() - forked.pop(pid), 3)
                procs.kill_group(pid)
                procs.kill_orphans(exclude=set(workers))
                cpu = round(usage.ru_utime + usage.ru_stime, 3)  # of the child itself (its threads included)
                if os.WIFSIGNALED(status):
                    report(event="exited", id=job_id, signal=os.WTERMSIG(status), cpu=cpu, seconds=seconds)
                else:
                    report(event="exited", id=job_id, code=os.WEXITSTATUS(status), cpu=cpu, seconds=seconds)
    procs.kill_orphans(exclude=set())
    os._exit(0)  # skip interpreter teardown (torch's takes most of a second); nothing is left to flush


if __name__ == "__main__":
    main()
