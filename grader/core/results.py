"""Result objects shared by the engine, the renderer, the JSON output and the notebook API.

A check returns a `CheckResult`; it never prints. Everything that reaches a person or a
tool is built from these objects.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # how --json writes them: as strings


def strict(obj: Any) -> Any:
    """`obj` with every non-finite float replaced by the string "NaN", "Infinity" or "-Infinity":
    JSON has no such numbers (Python's `json` writes bare NaN/Infinity tokens, which other
    parsers reject). A reader that wants the number back maps those three strings to floats."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return NON_FINITE[repr(obj)]
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def to_strict_json(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON (RFC 8259): non-finite numbers as strings (see `strict`); never a bare NaN."""
    return json.dumps(strict(obj), indent=indent, allow_nan=False)


CHECK_STATUSES = ("pass", "fail", "skip", "error")
KATA_STATUSES = ("pass", "fail", "error", "timeout", "not_started")


@dataclass
class CheckResult:
    name: str
    status: str
    message: str = ""
    mistake: str | None = None  # name of the catalogued mistake the output matches
    advisory: bool = False  # shown, never decides the verdict
    details: dict[str, Any] = field(default_factory=dict)  # numbers a check judged (e.g. trajectories)

    def __post_init__(self) -> None:
        assert self.status in CHECK_STATUSES, f"unknown check status {self.status!r}"

    @property
    def decides_failure(self) -> bool:
        return not self.advisory and self.status in ("fail", "error")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "message": self.message}
        if self.mistake:
            out["mistake"] = self.mistake
        if self.advisory:
            out["advisory"] = True
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class KataResult:
    name: str
    status: str
    checks: list[CheckResult] = field(default_factory=list)
    message: str = ""  # why a kata errored, timed out or was not started
    output: str = ""  # tail of what the submission printed
    seconds: float = 0.0
    hints_used: int = 0

    def __post_init__(self) -> None:
        assert self.status in KATA_STATUSES, f"unknown kata status {self.status!r}"

    @classmethod
    def from_checks(cls, name: str, checks: list[CheckResult], **kw: Any) -> "KataResult":
        status = "fail" if any(c.decides_failure for c in checks) else "pass"
        return cls(name=name, status=status, checks=checks, **kw)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.decides_failure]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "checks": [c.to_dict() for c in self.checks],
            "seconds": round(self.seconds, 3),
            "hints_used": self.hints_used,
        }
        if self.output:
            out["output"] = self.output
        return out


@dataclass
class Report:
    katas: list[KataResult]
    seed: int
    workspace: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(k.status == "pass" for k in self.katas)

    @property
    def total(self) -> int:
        return len(self.katas)

    @property
    def ok(self) -> bool:
        return self.passed == self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "katas": [k.to_dict() for k in self.katas],
            "passed": self.passed,
            "total": self.total,
            "seed": self.seed,
            "workspace": self.workspace,
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return to_strict_json(self.to_dict())
