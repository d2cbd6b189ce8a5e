"""`kata watch`: re-grade on save, move on to the next unfinished kata when one passes.

The loop is `practice`: it takes an iterable of change events (any objects: they only say
"look again"), a `grade` callable and a way to fingerprint the workspace, and yields
`Step`s for the renderer. It knows nothing about files, terminals or torch, so tests drive
it with lists. `watch` feeds it real events from watchfiles and grades with one sandbox.

What counts as a save is decided by content, not by events: every event (and, with
`tick_ms`, every quiet interval) fingerprints the workspace's *.py files and compares with
the last look. So an editor that saves by writing a temporary file and renaming it over the
kata file, one that writes twice, or a save that lands while a grade is running, all lead
to exactly one grade of the new content; saving unchanged content does not re-grade (the
seed is fixed for the session, so the report would be the same).

A grade that a newer save made obsolete is cancelled: `grade(name, obsolete)` is handed a
callable that says whether the kata's file changed since the grade started, and returns
None when it gave up for that reason; the loop then grades the newest version at once
(saving an infinite loop and then its fix does not wait for the loop's timeout).
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from grader import registry
from grader.core import workspace
from grader.core.files import read_if_regular
from grader.core.progress import record
from grader.core.results import Report
from grader.core.state import State, file_digest


@dataclass
class Step:
    """What the loop does. kind: "grading" (a grade of kata starts), "graded" (report is set),
    "cancelled" (a newer save made the running grade obsolete), "next" (kata is the next one to
    work on), "done" (every kata passes)."""

    kind: str
    kata: str
    report: Report | None = None


def next_unfinished(order: list[str], after: str, solved: Callable[[str], bool]) -> str | None:
    """The first kata after `after` in registry order, wrapping around, that is not solved."""
    i = order.index(after)
    for name in order[i + 1:] + order[:i]:
        if not solved(name):
            return name
    return None


def practice(order: list[str], start: str, events: Iterable[Any],
             grade: Callable[[str, Callable[[], bool]], Report | None],
             fingerprints: Callable[[], Mapping[str, str]], kata_of: Mapping[str, str],
             solved: Callable[[str], bool]) -> Iterator[Step]:
    """Grade `start`, then re-grade after each change, moving on whenever the current kata passes.

    fingerprints(): file name -> content hash of every watched file; kata_of: a kata's file
    name -> the kata. A changed kata file makes its kata the current one (what you save is
    what is graded); a changed file of no kata (a helper module) re-grades the current one.
    grade(name, obsolete) -> the report, or None when `obsolete()` became true meanwhile.
    """
    current = start
    seen = dict(fingerprints())
    file_of = {k: f for f, k in kata_of.items()}

    def grade_and_move_on(name: str) -> Iterator[Step]:
        nonlocal current, seen
        current = name
        while True:
            yield Step("grading", current)
            seen = dict(fingerprints())  # the version being graded
            graded, file = dict(seen), file_of.get(current)
            report = grade(current, lambda: dict(fingerprints()).get(file) != graded.get(file))
            if report is None:  # a newer save of this kata: grade that instead
                yield Step("cancelled", current)
                continue
            yield Step("graded", current, report)
            if not report.ok:
                return
            following = next_unfinished(order, current, solved)
            if following is None:
                yield Step("done", current)
                return
            yield Step("next", following)
            current = following

    yield from grade_and_move_on(current)
    for _ in events:
        now = dict(fingerprints())
        changed = [f for f in now if now[f] != seen.get(f)]
        seen = now
        katas = [kata_of[f] for f in changed if f in kata_of]
        if current in katas or (changed and not katas):
            yield from grade_and_move_on(current)
        elif katas:
            yield from grade_and_move_on(katas[0])


# ------------------------------------------------------------------ the real thing
def fingerprint(ws: Path) -> dict[str, str]:
    """Content hash of every *.py directly in the workspace."""
    out = {}
    for p in sorted(Path(ws).glob("*.py")):
        data = read_if_regular(p)  # None: deleted meanwhile, or a FIFO or device (never blocks)
        if data is not None:
            out[p.name] = hashlib.sha1(data).hexdigest()
    return out


def _python_file(ws: Path) -> Callable[[Any, str], bool]:
    root = Path(ws).resolve()

    def keep(change: Any, path: str) -> bool:
        p = Path(path)
        return p.suffix == ".py" and not p.name.startswith(".") and p.resolve().parent == root
    return keep


def file_events(ws: Path, stop_event: threading.Event | None = None, tick_ms: int | None = 1000,
                debounce_ms: int = 1600, quiet_ms: int = 100) -> Iterator[Any]:
    """Batches of changes to *.py files in `ws`, from watchfiles; with `tick_ms`, also an empty
    batch after every `tick_ms` without changes (a missed event is then noticed at the next tick).

    watchfiles groups changes until `quiet_ms` pass without one (at most `debounce_ms`), so an
    editor's write-temp-then-rename save arrives as one batch. Ctrl-C raises KeyboardInterrupt.
    """
    import watchfiles

    return watchfiles.watch(ws, watch_filter=_python_file(ws), debounce=debounce_ms, step=quiet_ms,
                            stop_event=stop_event, rust_timeout=tick_ms or 0, yield_on_timeout=bool(tick_ms),
                            recursive=False, raise_interrupt=True)


CANCEL_GRACE_S = 3.0  # after its children are ended, a grade has this long to return before its sandbox is


class WorkspaceGrader:
    """grade(name) -> Report for `kata watch`: one sandbox for every re-grade (torch is imported
    once, in the sandbox's zygote), progress recorded in the workspace's state as `kata grade`
    records it (grader.core.progress). Start the sandbox before the first grade: the grader's own `import torch`
    (at the first grade) then overlaps the zygote's."""

    def __init__(self, ws: Path, sandbox: Any, seed: int, limits: Any = None, device: str = "auto",
                 poll_s: float = 0.1) -> None:
        self.ws, self.sandbox, self.seed, self.limits, self.device = Path(ws), sandbox, seed, limits, device
        self.poll_s = poll_s  # how often a running grade looks for a newer save
        self.sandboxes_started = 0  # replacements for a sandbox that died or ran an obsolete grade
        self.cancelled = 0

    def __call__(self, name: str, obsolete: Callable[[], bool] | None = None) -> Report | None:
        """Grade `name`; None (nothing recorded) when `obsolete()` turns true before the grade ends:
        the sandbox running it is then ended and a fresh one started for the next grade."""
        from grader.core import engine
        from grader.sandbox.pool import Limits, Sandbox

        if self.sandbox.proc.poll() is not None:  # the zygote died (killed from outside): start another
            self.sandbox.close()
            self.sandbox = Sandbox.start()
            self.sandboxes_started += 1
        options = engine.Options(seed=self.seed, device=self.device, limits=self.limits or Limits())
        digests = {name: file_digest(workspace.kata_path(self.ws, registry.get(name)))}
        if obsolete is None:
            report = engine.grade([name], self.ws, options, sandbox=self.sandbox)
        else:
            report = self._cancellable(name, options, obsolete)
            if report is None:
                return None
        try:
            record(self.ws, report, digests)
        except OSError as exc:  # a read-only workspace, `.kata` a link: graded all the same
            report.warnings.append(f"progress was not recorded in {self.ws} ({exc.strerror or exc})")
        return report

    def _cancellable(self, name: str, options: Any, obsolete: Callable[[], bool]) -> Report | None:
        from grader.core import engine
        from grader.sandbox import procs
        from grader.sandbox.pool import Sandbox

        done: dict[str, Any] = {}

        def run() -> None:
            try:
                done["report"] = engine.grade([name], self.ws, options, sandbox=self.sandbox)
            except BaseException as exc:  # handed to the caller's thread below
                done["error"] = exc

        def end_children() -> bool:
            # Ending the zygote's children (a grade's child, and whatever it started) makes the
            # sandbox report the kata as crashed at once; the zygote, torch imported, lives on.
            for pid in procs.children_of(self.sandbox.proc.pid):
                procs.kill_group(pid)
                procs.kill_tree(pid)
            worker.join(CANCEL_GRACE_S)
            return not worker.is_alive()

        def end_sandbox() -> None:
            # Ending the zygote too: the running grade returns at once, its kata reported lost.
            procs.kill_tree(self.sandbox.proc.pid)
            worker.join(10)
            self.sandbox.close()

        worker = threading.Thread(target=run, name=f"grade-{name}", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(self.poll_s)
                if worker.is_alive() and obsolete():  # the report would be of an old version: dropped
                    if not end_children():  # still busy (before any child started): start afresh
                        end_sandbox()
                        self.sandbox = Sandbox.start()
                        self.sandboxes_started += 1
                    self.cancelled += 1
                    return None
        except BaseException:  # Ctrl-C: end the grade now rather than at its timeout
            end_sandbox()
            raise
        if "error" in done:
            raise done["error"]
        return done["report"]

    def solved(self, name: str) -> bool:
        return State.load(self.ws).get(name).status == "pass"

    def close(self) -> None:
        self.sandbox.close()


def first_unfinished(ws: Path) -> str:
    """Where `kata watch` starts without a NAME: the first kata, in registry order, not yet passed."""
    state = State.load(ws)
    order = registry.names()
    return next((n for n in order if state.get(n).status != "pass"), order[0])


def watch(ws: Path, start: str, grader: WorkspaceGrader, stop_event: threading.Event | None = None,
          tick_ms: int | None = 1000) -> Iterator[Step]:
    """`practice` on the real workspace: events from watchfiles, grades from `grader`."""
    kata_of = {k.filename: k.name for k in registry.KATAS.values()}
    events = file_events(ws, stop_event, tick_ms)
    try:
        yield from practice(registry.names(), start, events, grader, lambda: fingerprint(ws), kata_of, grader.solved)
    finally:
        close = getattr(events, "close", None)
        if close:
            close()


def kata_paths(ws: Path) -> dict[str, str]:
    return {k.name: str(workspace.kata_path(ws, k)) for k in registry.KATAS.values()}
