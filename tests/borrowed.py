"""Lend the session's sandbox to code that starts its own (the CLI's commands), so a test pays
for torch's import once. `starts` counts how often `Sandbox.start` was asked for one."""
from __future__ import annotations

from typing import Any


class Borrowed:
    """The session sandbox behind `Sandbox`'s interface; closing it is a no-op (others use it)."""

    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox

    def __getattr__(self, name: str) -> Any:  # run, proc and whatever else the sandbox offers
        return getattr(self._sandbox, name)

    def close(self) -> None:
        pass

    def __enter__(self) -> "Borrowed":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def lend(monkeypatch: Any, sandbox: Any) -> list[int]:
    """Make `Sandbox.start()` return the session sandbox; returns a one-item counter of the calls."""
    from grader.sandbox.pool import Sandbox

    starts = [0]

    def start(cls: Any = None) -> Borrowed:
        starts[0] += 1
        return Borrowed(sandbox)

    monkeypatch.setattr(Sandbox, "start", classmethod(lambda cls: start(cls)))
    return starts
