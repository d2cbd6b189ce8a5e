"""The grader's side of the sandbox: start the zygote early, hand it jobs, enforce limits.

Importing this module does not import torch. `Sandbox.start()` is called before the
grader imports torch itself, so the two imports run side by side on two cores; the `kata`
command starts the zygote earlier still (`start_early`, from grader.__main__).
"""
from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from grader.sandbox import procs
from grader.sandbox.jobs import Job, Limits, Outcome  # noqa: F401  (re-exported: the engine and tests import them from here)


@dataclass
class _Running:
    job: Job
    sent: float
    pid: int | None = None
    started: float | None = None
    timed_out: bool = False
    killed_at: float = 0.0
    extended: float = 0.0  # seconds added to its deadline because it was starved of CPU by others


class SandboxError(RuntimeError):
    pass


PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The zygote's import path: this package's root first, then the standard library and site-packages.
# Never the working folder (`python -m` and `-c` put it first; it may be a workspace being graded,
# holding its own json.py or grader/), never PYTHONPATH (-E). -P (3.11+) also keeps '' off the path.
_BOOT = ("import sys; root = sys.argv[1]; "
         "sys.path[:] = [root] + [p for p in sys.path if p not in ('', '.', root)]; "
         "sys.dont_write_bytecode = True; "
         "from grader.sandbox.zygote import main; main()")


def zygote_command() -> list[str]:
    flags = ["-E", "-P"] if sys.version_info >= (3, 11) else ["-E"]
    return [sys.executable, *flags, "-c", _BOOT, PACKAGE_ROOT]


GRACE = 2.0  # seconds the zygote has to confirm that a killed child is gone
START_GRACE = 10.0  # seconds a ready zygote has to fork a child for a job it was handed
MAX_EVENT = 1 << 16  # longest event line from the zygote; a longer one is junk (an unconfined child can write there)
# A child that was ready to run but waited for a CPU (neighbours hogging every core) is given more
# wall time, up to STARVED_MAX times its timeout, while its CPU time is under STARVED_SHARE of it.
STARVED_SHARE, STARVED_MAX = 0.5, 2.0


def _child_seconds(said: Any, r: _Running, now: float) -> float:
    """How long a child ran: the zygote's own clock, from fork to reaping, within the time since
    its job was sent (a report an unconfined child forged can only misstate its own time); else
    the grader's, from the `started` event (which the grader may read only after the child has
    exited, when it was busy meanwhile: then 0)."""
    if isinstance(said, (int, float)) and math.isfinite(said) and 0 <= said <= now - r.sent:
        return float(said)
    return max(0.0, now - r.started) if r.started is not None else 0.0


class Sandbox:
    """The grader's handle on the zygote. If the zygote dies or stops responding (a submission
    can kill or stop it: same user), the katas it was running are reported as such and a
    fresh zygote runs the rest."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._buffer = b""
        self.ready_at: float | None = None  # when the zygote said it had imported torch
        self._refused: set[str] = set()  # this run's jobs whose fork failed once: tried again when no other runs
        self.runs = 0  # runs so far: a run's tag is on its jobs' ids, so a late event of an earlier run is not
        # taken for this one's (a child killed at a timeout is reported after the grace period, under load)
        self.landlock = 0  # the kernel's Landlock ABI, as the zygote found it (0: none)
        self._meanwhile: Callable[[], None] | None = None  # the caller's work for this run (see `run`)

    @staticmethod
    def _spawn() -> subprocess.Popen:
        return subprocess.Popen(zygote_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS="1"), close_fds=True,
                                cwd="/")

    @classmethod
    def start(cls) -> "Sandbox":
        """The zygote started by `start_early` if there is one, else a new one."""
        global _early
        proc, _early = _early, None
        if proc is not None and proc.poll() is None:
            return cls(proc)
        return cls(cls._spawn())

    def preload(self, katas: list[str]) -> None:
        """Tell the zygote which katas the next run grades: it imports their specs as soon as it
        has started, rather than before each kata's first child. A hint: a failed write is ignored."""
        try:
            self.proc.stdin.write((json.dumps({"preload": list(katas)}) + "\n").encode())  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass

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
        if b"\n" not in self._buffer and len(self._buffer) > MAX_EVENT:
            self._buffer = b""  # no event is this long
        events = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            try:
                event = json.loads(line) if len(line) <= MAX_EVENT else None
            except (ValueError, RecursionError):
                continue  # not from the zygote (a child can reach its pipe through /proc): ignore it
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                events.append(event)
        return events

    def run(self, jobs: list[Job], parallel: int, on_exit: Callable[[Outcome], None] | None = None,
            meanwhile: Callable[[], None] | None = None) -> list[Outcome]:
        """Run every job, at most `parallel` at once; each ends by itself or at its timeout.

        `on_exit(outcome)` is called for each child that exited by itself, as soon as it has and
        after its place went to the next job, so the caller can read its results while the others
        run. `meanwhile()` is called once, as soon as the first jobs are handed out: the caller's
        own work, done while the zygote starts and the first children run, not before. Neither
        may raise."""
        self.runs += 1
        self._meanwhile = meanwhile
        self._refused = set()
        pending = list(jobs)
        running: dict[str, _Running] = {}
        done: dict[str, Outcome] = {}
        told: set[str] = set()
        while pending or running:
            try:
                if self.proc.poll() is not None:
                    raise SandboxError("the sandbox process had exited")
                self._step(pending, running, done, max(1, parallel))
                if on_exit is not None and len(done) > len(told):
                    self._hand_out(pending, running, max(1, parallel))
                    for job_id in [k for k in done if k not in told]:
                        told.add(job_id)
                        if not (done[job_id].timed_out or done[job_id].lost or done[job_id].refused):
                            on_exit(done[job_id])
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
        self._hand_out(pending, running, parallel)
        if self._meanwhile is not None:
            work, self._meanwhile = self._meanwhile, None
            work()
        now = time.monotonic()
        deadlines = [self._deadline(r) for r in running.values()]
        wait = min([d for d in deadlines if d is not None], default=now + 0.5) - now
        for ev in self._events(min(wait, 0.5)):
            if ev["event"] == "ready":
                if self.ready_at is None:  # the zygote's own, sent before any child existed
                    self.ready_at = time.monotonic()
                    self.landlock = int(ev.get("landlock") or 0)
                continue
            tagged = str(ev.get("id", ""))
            r = running.get(tagged[len(self._tag):]) if tagged.startswith(self._tag) else None
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
                code, sig, cpu = ev.get("code"), ev.get("signal"), ev.get("cpu")
                seconds = _child_seconds(ev.get("seconds"), r, time.monotonic())
                cpu = float(cpu) if isinstance(cpu, (int, float)) and math.isfinite(cpu) and cpu >= 0 else None
                done[r.job.id] = Outcome(r.job, code if isinstance(code, int) else None,
                                         sig if isinstance(sig, int) else None, r.timed_out, seconds, cpu=cpu)
                del running[r.job.id]
            elif ev["event"] == "refused" and r.pid is None:  # no process was made for it (fork failed)
                del running[r.job.id]
                if r.job.id in self._refused:
                    done[r.job.id] = Outcome(r.job, refused=str(ev.get("error", ""))[:200])
                else:  # once more, when the others have ended (the processes they held are then gone)
                    self._refused.add(r.job.id)
                    pending.append(r.job)
        now = time.monotonic()
        for r in running.values():
            deadline = self._deadline(r)
            if deadline is None or now < deadline:
                continue
            if r.started is None:
                raise SandboxError("the sandbox process stopped handing out work")
            if r.timed_out:
                raise SandboxError("the sandbox process stopped responding")
            if self._starved(r, now):
                continue
            r.timed_out, r.killed_at = True, now
            procs.kill_group(r.pid)  # type: ignore[arg-type]
            procs.kill_tree(r.pid)  # type: ignore[arg-type]
            try:
                os.kill(self.proc.pid, signal.SIGCONT)  # in case the submission stopped the zygote
            except OSError:
                pass

    def _hand_out(self, pending: list[Job], running: dict[str, _Running], parallel: int) -> None:
        refused = self._refused
        while pending and len(running) < parallel:
            i = next((k for k, j in enumerate(pending) if j.id not in refused or not running), None)
            if i is None:  # only jobs refused once are left: they wait until nothing else runs
                return
            job = pending.pop(i)
            running[job.id] = _Running(job, time.monotonic())
            self.proc.stdin.write((job.to_wire(self._tag) + "\n").encode())  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]

    @property
    def _tag(self) -> str:
        return f"{self.runs}:"

    def confined(self, limits: Limits) -> bool:
        """True when children run with `limits` cannot write outside their own folder (known once
        the zygote is ready, i.e. after a `run`)."""
        return limits.confine and self.landlock >= procs.CONFINES_WRITES

    @staticmethod
    def _starved(r: _Running, now: float) -> bool:
        """At its deadline, a child that wants a CPU but has had less than STARVED_SHARE of its
        timeout in CPU time was crowded out by others: extend its deadline (by what it lacks), up
        to STARVED_MAX times its timeout. A sleeping or stopped child, or one that has had its
        CPU time, is not extended; RLIMIT_CPU bounds the rest. CPU time counts the processes
        the child started: spinning others keeps its own thread waiting, but it had its share."""
        timeout = r.job.limits.timeout
        cpu = procs.tree_cpu_seconds(r.pid) if r.pid else None
        if cpu is None or cpu >= STARVED_SHARE * timeout or not procs.is_runnable(r.pid):  # type: ignore[arg-type]
            return False
        if now - r.started >= STARVED_MAX * timeout:  # type: ignore[operator]
            return False
        r.extended += max(0.1, timeout - cpu)
        return True

    def _deadline(self, r: _Running) -> float | None:
        if r.timed_out:
            return r.killed_at + GRACE  # the zygote should have reported the kill by then
        if r.started is not None:
            return min(r.started + r.job.limits.timeout + r.extended, r.started + STARVED_MAX * r.job.limits.timeout)
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


_early: subprocess.Popen | None = None  # started by `start_early`, taken by the next `Sandbox.start`


def start_early() -> None:
    """Start the zygote now, before the command line imports click, rich and torch, for a command
    that will grade: it is ~0.15 s further along when the command takes it (`Sandbox.start`)."""
    global _early
    if _early is None:
        _early = Sandbox._spawn()


def discard_early() -> None:
    """End a zygote that `start_early` started and no command took (a usage error, for instance)."""
    global _early
    proc, _early = _early, None
    if proc is not None:
        proc.kill()  # it has no children yet: no job was handed to it
        proc.wait()
