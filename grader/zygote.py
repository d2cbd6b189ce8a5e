"""The sandbox's process: imports torch once, then forks one child per kata.

Run as `python -m grader.zygote` by `grader.sandbox`. It reads jobs (one JSON object a
line) on stdin and reports on stdout when each child starts and how it ended. It loads
no submission itself: each forked child does, after it has left this process's pipes,
started its own session and taken its limits. Forking after the import is what lets a
run of several katas (or of many workspaces) pay for `import torch` once.

Every descendant a child leaves behind, even in a session of its own, is reparented to
this process (it is a child subreaper) and killed when its kata ends.
"""
from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
from typing import Any

from grader import procs


def _limit(kind: int, value: int) -> None:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


def _child(job: dict[str, Any], out_fd: int) -> None:
    """In the forked child. Never returns."""
    code = 0
    try:
        os.setsid()
        os.close(out_fd)  # the submission must not be able to write reports in our name
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(job["dir"])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file-size cap a write fails; the child lives on
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _limit(resource.RLIMIT_CORE, 0)
        _limit(resource.RLIMIT_FSIZE, job["file_cap"])
        if job.get("memory_mb"):
            _limit(resource.RLIMIT_AS, procs.address_space() + job["memory_mb"] * 2**20)
        from grader.worker import CappedWriter, run_job

        stdout, stderr = CappedWriter(1, job["output_cap"]), CappedWriter(2, job["output_cap"])
        sys.stdout, sys.stderr = stdout, stderr
        run_job(job, stdout, stderr)
    except BaseException:
        code = 3
    finally:
        os._exit(code)


def warm_meta_kernels() -> None:
    """Load what the first operation on a 'meta' tensor loads (sympy among it, ~0.4 s), once
    here rather than in every child's device-hygiene probe."""
    import torch

    from grader.specs.base import _dynamo_stand_in

    with _dynamo_stand_in():
        (torch.empty(2, device="meta") * 2).sum()


def main() -> None:
    import torch  # noqa: F401  (the point of this process: import once, fork many)

    from grader import registry
    import grader.worker  # noqa: F401
    import importlib

    for kata in registry.KATAS.values():  # import every spec now, so children never read grader files
        importlib.import_module(kata.spec)
    warm_meta_kernels()

    procs.become_subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when we stop
    out = sys.stdout.fileno()
    workers: dict[int, str] = {}  # pid -> job id

    def report(**event: Any) -> None:
        os.write(out, (json.dumps(event) + "\n").encode())

    report(event="ready")
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
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    job = json.loads(line)
                    pid = os.fork()
                    if pid == 0:
                        _child(job, out)
                    workers[pid] = job["id"]
                    report(event="started", id=job["id"], pid=pid)
        else:
            for pid in list(workers):  # the grader has gone: nobody wants these results
                procs.kill_group(pid)
            select.select([], [], [], 0.01)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in workers:
                job_id = workers.pop(pid)
                procs.kill_group(pid)
                procs.kill_orphans(exclude=set(workers))
                if os.WIFSIGNALED(status):
                    report(event="exited", id=job_id, signal=os.WTERMSIG(status))
                else:
                    report(event="exited", id=job_id, code=os.WEXITSTATUS(status))
    procs.kill_orphans(exclude=set())
    os._exit(0)  # skip interpreter teardown (torch's takes most of a second); nothing is left to flush


if __name__ == "__main__":
    main()
