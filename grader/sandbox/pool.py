"""The grader's side of the sandbox: start the zygote early, hand it jobs, enforce limits.

Importing this module does not import torch. `Sandbox.start()` is called before the
grader imports torch itself, so the two imports run side by side on two cores.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from grader.sandbox import procs


@dataclass
class Limits:
    timeout: float = 10.0  # wall-clock seconds per kata, from the moment its child starts
    memory_mb: int = 2048  # memory a child may add on top of what the zygote (torch) already holds
    output_cap: int = 1 << 20  # bytes of printed output written to the log; the rest keeps only a tail
    file_cap: int = 64 << 20  # largest file a child may write (its results, its log)
    confine: bool = True  # Landlock, where the kernel has it: write only in its own folder, signal nobody outside


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
    experiment: dict[str, Any] | None = None  # an experiment job (grader.practice.experiment): train, do not probe

    def to_wire(self) -> str:
        wire = {"id": self.id, "kata": self.kata, "dir": self.dir, "file": self.file,
                "cases": self.cases, "result": self.result, "log": self.log, "seed": self.seed,
                "cuda": self.cuda, "memory_mb": self.limits.memory_mb,
                "output_cap": self.limits.output_cap, "file_cap": self.limits.file_cap,
                "confine": self.limits.confine}
        if self.experiment is not None:
            wire["experiment"] = self.experiment
        return json.dumps(wire)


@dataclass
class Outcome:
    """How a child ended. `code` and `signal` are the zygote's report; `timed_out` is the grader's own observation."""

    job: Job
    code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    lost: str = ""  # the sandbox itself failed


@dataclass
class _Running:
    job: Job
    sent: float
    pid: int | None = None
    started: float | None = None
    timed_out: bool = False
    killed_at: float = 0.0


class SandboxError(RuntimeError):
    pass


GRACE = 2.0  # seconds the zygote has to confirm that a killed child is gone
START_GRACE = 10.0  # seconds a ready zygote has to fork a child for a job it was handed


class Sandbox:
    """The grader's handle on the zygote. If the zygote dies or stops responding (a submission
    can kill or stop it: same user), the katas it was running are reported as such and a
    fresh zygote runs the rest."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._buffer = b""
        self.ready_at: float | None = None  # when the zygote said it had imported torch
        self.landlock = 0  # the kernel's Landlock ABI, as the zygote found it (0: none)

    @staticmethod
    def _spawn() -> subprocess.Popen:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return subprocess.Popen([sys.executable, "-m", "grader.sandbox.zygote"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)

    @classmethod
    def start(cls) -> "Sandbox":
        return cls(cls._spawn())

    def _restart(self) -> None:
        self._stop()
        self.proc, self._buffer, self.ready_at = self._spawn(), b"", None

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
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not from the zygote (a child can reach its pipe through /proc): ignore it
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
        return events

    def run(self, jobs: list[Job], parallel: int) -> list[Outcome]:
        """Run every job, at most `parallel` at once; each ends by itself or at its timeout."""
        pending = list(jobs)
        running: dict[str, _Running] = {}
        done: dict[str, Outcome] = {}
        while pending or running:
            try:
                if self.proc.poll() is not None:
                    raise SandboxError("the sandbox process had exited")
                self._step(pending, running, done, max(1, parallel))
            except (SandboxError, OSError, ValueError) as exc:
                for r in running.values():
                    if r.pid:
                        procs.kill_group(r.pid)
                        procs.kill_tree(r.pid)
                    seconds = time.monotonic() - r.started if r.started else 0.0
                    done[r.job.id] = Outcome(r.job, timed_out=True, seconds=seconds) if r.timed_out else \
                        Outcome(r.job, seconds=seconds, lost=f"{exc} while this kata ran (a submission can kill or "
                                "stop it); the katas after it ran in a fresh one. Grade this kata alone to see "
                                "whether it was the cause.")
                running.clear()
                if pending:
                    try:
                        self._restart()
                    except OSError as restart_exc:
                        for job in pending:
                            done[job.id] = Outcome(job, lost=f"the sandbox could not be restarted: {restart_exc}")
                        pending.clear()
            except BaseException:  # Ctrl-C: nobody would time out the children handed out
                if running:
                    self._stop()  # ends them all; the next run starts a fresh zygote
                raise
        return [done[j.id] for j in jobs]

    def _step(self, pending: list[Job], running: dict[str, _Running], done: dict[str, Outcome], parallel: int) -> None:
        """Hand out jobs, wait for the zygote's next events (or the next deadline), enforce timeouts."""
        while pending and len(running) < parallel:
            job = pending.pop(0)
            running[job.id] = _Running(job, time.monotonic())
            self.proc.stdin.write((job.to_wire() + "\n").encode())  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        now = time.monotonic()
        deadlines = [self._deadline(r) for r in running.values()]
        wait = min([d for d in deadlines if d is not None], default=now + 0.5) - now
        for ev in self._events(min(wait, 0.5)):
            if ev["event"] == "ready":
                if self.ready_at is None:  # the zygote's own, sent before any child existed
                    self.ready_at = time.monotonic()
                    self.landlock = int(ev.get("landlock") or 0)
                continue
            r = running.get(str(ev.get("id", "")))
            if r is None:
                continue
            # Events are checked before they are believed: without Landlock a child can write into the
            # zygote's pipe (through /proc), and a forged pid would make the timeout kill someone else.
            if ev["event"] == "started" and r.pid is None:
                pid = ev.get("pid")
                taken = {other.pid for other in running.values()}  # a pid belongs to one job, first claim wins
                if isinstance(pid, int) and pid not in taken and procs.is_child_of(pid, self.proc.pid):
                    r.pid, r.started = pid, time.monotonic()
            elif ev["event"] == "exited":
                if r.pid is not None and procs.is_child_of(r.pid, self.proc.pid) and procs.is_running(r.pid):
                    procs.kill_group(r.pid)  # a forged report: the child is still running, and ends now
                    procs.kill_tree(r.pid)
                code, sig = ev.get("code"), ev.get("signal")
                seconds = time.monotonic() - (r.started or time.monotonic())
                done[r.job.id] = Outcome(r.job, code if isinstance(code, int) else None,
                                         sig if isinstance(sig, int) else None, r.timed_out, seconds)
                del running[r.job.id]
        now = time.monotonic()
        for r in running.values():
            deadline = self._deadline(r)
            if deadline is None or now < deadline:
                continue
            if r.started is None:
                raise SandboxError("the sandbox process stopped handing out work")
            if r.timed_out:
                raise SandboxError("the sandbox process stopped responding")
            r.timed_out, r.killed_at = True, now
            procs.kill_group(r.pid)  # type: ignore[arg-type]
            procs.kill_tree(r.pid)  # type: ignore[arg-type]
            try:
                os.kill(self.proc.pid, signal.SIGCONT)  # in case the submission stopped the zygote
            except OSError:
                pass

    def confined(self, limits: Limits) -> bool:
        """True when children run with `limits` cannot write outside their own folder (known once
        the zygote is ready, i.e. after a `run`)."""
        return limits.confine and self.landlock >= procs.CONFINES_WRITES

    def _deadline(self, r: _Running) -> float | None:
        if r.timed_out:
            return r.killed_at + GRACE  # the zygote should have reported the kill by then
        if r.started is not None:
            return r.started + r.job.limits.timeout
        if self.ready_at is not None:  # torch is imported: forking takes milliseconds
            return max(r.sent, self.ready_at) + START_GRACE
        return None

    def _stop(self) -> None:
        """End the zygote, every child and every leftover it still holds."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            procs.kill_tree(self.proc.pid)
            self.proc.wait()

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
