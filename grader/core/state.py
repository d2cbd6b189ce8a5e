"""Progress kept in the workspace (`.kata/state.json`): last grade per kata, hints revealed.

Written atomically. A state file from another version, one that does not parse, or one
larger than MAX_STATE is moved aside to a backup by rename (never deleted, never copied) and a
fresh state starts; the caller is told.
No torch.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.core.files import atomic_write, move_aside
from grader.sandbox.untrusted import Untrusted, read_capped

VERSION = 1
FOLDER = ".kata"
MAX_STATE = 1 << 20  # a state file is a few kB; a larger one is unusable: never read, moved aside by rename


def file_digest(path: Path) -> str:
    """Content hash of a kata file ("" when it cannot be read, or is no regular file: never blocks)."""
    from grader.core.files import read_if_regular

    data = read_if_regular(Path(path))
    return hashlib.sha1(data).hexdigest() if data is not None else ""


@dataclass
class KataProgress:
    status: str = ""  # last graded status, "" when never graded
    hints: int = 0  # hint levels revealed
    graded_at: float = 0.0
    passed_checks: int = 0
    total_checks: int = 0
    digest: str = ""  # content hash of the file that was graded: `kata list` tells when it changed since


_TYPES = {"status": (str,), "hints": (int,), "graded_at": (int, float), "passed_checks": (int,),
          "total_checks": (int,), "digest": (str,)}


def _progress(name: object, entry: object) -> KataProgress:
    """One kata's entry of the file, each field of its type (the file is anyone's to edit)."""
    if not isinstance(entry, dict):
        raise ValueError(f"the entry of {name!r} is a {type(entry).__name__}, not a record")
    for f, types in _TYPES.items():
        v = entry.get(f)
        if f in entry and (isinstance(v, bool) or not isinstance(v, types) or (f == "hints" and v < 0)):
            raise ValueError(f"{name!r}: {f} is {v!r}")
    return KataProgress(**{f: entry[f] for f in _TYPES if f in entry})


@dataclass
class State:
    path: Path
    katas: dict[str, KataProgress] = field(default_factory=dict)
    notice: str = ""  # what happened to an unreadable or older state file

    @classmethod
    def load(cls, workspace: Path) -> "State":
        path = Path(workspace) / FOLDER / "state.json"
        if os.path.islink(path.parent):  # it could lead into another person's workspace: never read or written
            return cls(path, notice=f"{path.parent} is a symbolic link; progress is neither read nor saved through it.")
        if not os.path.lexists(path):
            return cls(path)
        try:  # never blocks or follows a link: the workspace may be someone else's (a FIFO here hung `kata grade`)
            raw = read_capped(str(path), MAX_STATE)
        except Untrusted as exc:
            if not os.path.isfile(path) or os.path.islink(path):  # a FIFO, a link: nothing to keep, the next save replaces it
                return cls(path, notice=f"{exc}; progress starts afresh.")
            raw = b""  # a regular file that cannot be used: moved aside below
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"state version {data.get('version') if isinstance(data, dict) else '?'}, "
                                 f"this grader writes version {VERSION}")
            katas = data.get("katas", {})
            if not isinstance(katas, dict):
                raise ValueError(f"'katas' is a {type(katas).__name__}, not a record")
            return cls(path, {str(k): _progress(k, v) for k, v in katas.items()})
        except (ValueError, TypeError, KeyError, AttributeError, OSError, RecursionError) as exc:
            try:
                saved = move_aside(path)  # a rename: never a copy of a file that may be huge (or sparse)
            except OSError as err:
                return cls(path, notice=f"{path} could not be used ({exc}) nor moved aside ({err.strerror or err}); "
                                        "progress starts afresh.")
            return cls(path, notice=f"{path} could not be used ({exc}); it was moved to {saved.name} and progress starts afresh.")

    def get(self, name: str) -> KataProgress:
        return self.katas.setdefault(name, KataProgress())

    def record_grade(self, name: str, status: str, passed_checks: int, total_checks: int, digest: str = "") -> None:
        p = self.get(name)
        p.status, p.graded_at = status, time.time()
        p.passed_checks, p.total_checks, p.digest = passed_checks, total_checks, digest

    def save(self) -> None:
        """Raises OSError where progress cannot be saved (a read-only workspace, `.kata` a link)."""
        if os.path.islink(self.path.parent):
            raise OSError(f"{self.path.parent} is a symbolic link; progress is not saved through it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"version": VERSION, "katas": {k: vars(v) for k, v in sorted(self.katas.items())}}
        atomic_write(self.path, json.dumps(data, indent=2) + "\n")
