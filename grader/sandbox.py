"""The grader's side of the sandbox: start the zygote early, hand it jobs, enforce limits.

Importing this module does not import torch. `Sandbox.start()` is called before the
grader imports torch itself, so the two imports run side by side on two cores.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from grader import procs


@dataclass
class Limits:
    timeout: float = 10.0  # wall-clock seconds per kata, from the moment its child starts
    memory_mb: int = 2048  # address space a child may add on top of what torch already maps
    output_cap: int = 1 << 20  # bytes of printed output written to the log; the rest keeps only a tail
    file_cap: int = 64 << 20  # largest file a child may write (its results, its log)


@dataclass
class Job:
    id: str
    kata: str
    dir: str
    file: str
    cases: str
    result: str
    log: str
    seed: int
    cuda: str
    limits: Limits

    def to_wire(self) -> str:
        return json.dumps({"id": self.id, "kata": self.kata, "dir": self.dir, "file": self.file,
                           "cases": self.cases, "result": self.result, "log": self.log, "seed": self.seed,
                           "cuda": self.cuda, "memory_mb": self.limits.memory_mb,
                           "output_cap": self.limits.output_cap, "file_cap": self.limits.file_cap})


@dataclass
class Outcome:
    """How a child ended. `timed_out` and `signal` come from the grader's own observation."""

    job: Job
    code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    lost: str = ""  # the sandbox itself failed


@dataclass
class _Running:
    job: Job
    pid: int | None = None
    started: float | None = None
    timed_out: bool = False
    outcome: Outcome | None = field(default=None)


class SandboxError(RuntimeError):
    pass


class Sandbox:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._buffer = b""

    @classmethod
    def start(cls) -> "Sandbox":
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.Popen([sys.executable, "-m", "grader.zygote"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        return cls(proc)

    def _events(self, wait: float) -> list[dict[str, Any]]:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        ready, _, _ = select.select([fd], [], [], max(0.0, wait))
        if not ready:
            return []
        chunk = os.read(fd, 65536)
        if not chunk:
            raise SandboxError("the sandbox process exited unexpectedly")
        self._buffer += chunk
        events = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            events.append(json.loads(line))
        return events

    def run(self, jobs: list[Job], parallel: int) -> list[Outcome]:
        """Run every job, at most `parallel` at once; each ends by itself or at its timeout."""
        pending = list(jobs)
        running: dict[str, _Running] = {}
        done: dict[str, Outcome] = {}
        try:
            while pending or running:
                while pending and len(running) < max(1, parallel):
                    job = pending.pop(0)
                    running[job.id] = _Running(job)
                    self.proc.stdin.write((job.to_wire() + "\n").encode())  # type: ignore[union-attr]
                    self.proc.stdin.flush()  # type: ignore[union-attr]
                now = time.monotonic()
                deadlines = [r.started + r.job.limits.timeout for r in running.values()
                             if r.started is not None and not r.timed_out]
                wait = min(deadlines) - now if deadlines else 0.5
                for ev in self._events(min(wait, 0.5)):
                    r = running.get(ev.get("id", ""))
                    if r is None:
                        continue
                    if ev["event"] == "started":
                        r.pid, r.started = int(ev["pid"]), time.monotonic()
                    elif ev["event"] == "exited":
                        seconds = time.monotonic() - (r.started or time.monotonic())
                        done[r.job.id] = Outcome(r.job, ev.get("code"), ev.get("signal"), r.timed_out, seconds)
                        del running[r.job.id]
                now = time.monotonic()
                for r in running.values():
                    if r.started is not None and not r.timed_out and now >= r.started + r.job.limits.timeout:
                        r.timed_out = True
                        procs.kill_group(r.pid)  # type: ignore[arg-type]
                        procs.kill_tree(r.pid)  # type: ignore[arg-type]
        except (SandboxError, OSError, ValueError) as exc:
            for r in running.values():
                if r.pid:
                    procs.kill_group(r.pid)
                done[r.job.id] = Outcome(r.job, timed_out=r.timed_out, lost=str(exc))
            for job in pending:
                done[job.id] = Outcome(job, lost=str(exc))
        return [done[j.id] for j in jobs]

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            procs.kill_tree(self.proc.pid)  # the zygote and every child and leftover it still holds
            self.proc.wait()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
