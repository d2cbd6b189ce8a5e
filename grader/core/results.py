"""Result objects shared by the engine, the renderer, the JSON output and the notebook API.

A check returns a `CheckResult`; it never prints. Everything that reaches a person or a
tool is built from these objects.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from grader import __version__
from grader.core import frames

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
CONTRACT_CHECKS = ("signature",)  # when one fails, the other checks' verdicts are noise: they are not run
KATA_STATUSES = ("pass", "fail", "error", "timeout", "not_started", "grader_error")  # grader_error: no verdict


@dataclass
class CheckResult:
    name: str
    status: str
    message: str = ""
    mistake: str | None = None  # name of the catalogued mistake the output matches
    advisory: bool = False  # shown, never decides the verdict
    details: dict[str, Any] = field(default_factory=dict)  # numbers a check judged (e.g. trajectories)
    seconds: float = 0.0  # time spent judging this check in the grader
    traceback: list[str] = field(default_factory=list)  # every frame of the error it reports (--verbose)

    def __post_init__(self) -> None:
        assert self.status in CHECK_STATUSES, f"unknown check status {self.status!r}"

    @property
    def decides_failure(self) -> bool:
        return not self.advisory and self.status in ("fail", "error")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CheckResult":
        return cls(str(d["name"]), str(d["status"]), str(d.get("message", "")), d.get("mistake"),
                   bool(d.get("advisory", False)), dict(d.get("details") or {}),
                   traceback=frames.frames_of(d))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "message": self.message,
                               "seconds": round(self.seconds, 4)}
        if self.mistake:
            out["mistake"] = self.mistake
        if self.advisory:
            out["advisory"] = True
        if self.details:
            out["details"] = self.details
        if self.traceback:
            out["traceback"] = list(self.traceback)
        return out


def not_run_after_contract(checks: list[CheckResult], independent: tuple[str, ...] = ()) -> list[CheckResult]:
    """`checks`, with every check after a failed contract check (the signature) shown as not run:
    with the wrong parameters every later check fails for the same reason, and fourteen reports
    of it hide the one that matters. `independent`: checks of another entry point, which the
    signature says nothing about (bt's BTModel checks when bt_loss is the one that failed)."""
    failed = next((c for c in checks if c.name in CONTRACT_CHECKS and c.status in ("fail", "error")), None)
    if failed is None:
        return checks
    after = checks.index(failed) + 1
    for c in checks[after:]:
        if c.name not in independent:
            c.status, c.message, c.mistake, c.details = "skip", f"not run: the {failed.name} check failed.", None, {}
            c.traceback = []
    return checks


@dataclass
class KataResult:
    name: str
    status: str
    checks: list[CheckResult] = field(default_factory=list)
    message: str = ""  # why a kata errored, timed out or was not started
    output: str = ""  # tail of what the submission printed
    seconds: float = 0.0
    hints_used: int = 0
    fault: dict[str, Any] | None = None  # status grader_error: stage, check, exception (grader.core.faults)
    traceback: list[str] = field(default_factory=list)  # every frame of the error in `message` (--verbose)

    def __post_init__(self) -> None:
        assert self.status in KATA_STATUSES, f"unknown kata status {self.status!r}"

    @classmethod
    def from_checks(cls, name: str, checks: list[CheckResult], **kw: Any) -> "KataResult":
        status = "fail" if any(c.decides_failure for c in checks) else "pass"
        return cls(name=name, status=status, checks=checks, **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "KataResult":
        return cls(str(d["name"]), str(d["status"]), [CheckResult.from_dict(c) for c in d.get("checks", [])],
                   str(d.get("message", "")), str(d.get("output", "")), float(d.get("seconds", 0.0)),
                   int(d.get("hints_used", 0)), d.get("grader_fault") or None,
                   frames.frames_of(d))

    @classmethod
    def from_fault(cls, name: str, fault: Any, **kw: Any) -> "KataResult":
        """No verdict: the grader's own code failed (`fault` is a grader.core.faults.GraderFault)."""
        return cls(name=name, status="grader_error", message=fault.message, fault=fault.to_dict(),
                   traceback=frames.lines(fault.cause.__traceback__), **kw)

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
        if self.fault:
            out["grader_fault"] = self.fault
        if self.traceback:
            out["traceback"] = list(self.traceback)
        return out


@dataclass
class Report:
    katas: list[KataResult]
    seed: int
    workspace: str = ""
    warnings: list[str] = field(default_factory=list)
    version: str = __version__  # the grader's that judged it: `kata report --from-json` compares them

    @property
    def passed(self) -> int:
        return sum(k.status == "pass" for k in self.katas)

    @property
    def total(self) -> int:
        return len(self.katas)

    @property
    def ok(self) -> bool:
        return self.passed == self.total

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        """A report as `kata grade --json` wrote it (KeyError, TypeError or ValueError when it is not one)."""
        return cls([KataResult.from_dict(k) for k in d["katas"]], int(d["seed"]), str(d.get("workspace", "")),
                   [str(w) for w in d.get("warnings", [])], str(d.get("grader_version", "unknown")))

    @property
    def grader_faults(self) -> list[KataResult]:
        """Katas the grader could not judge because its own code failed (grader.core.faults)."""
        return [k for k in self.katas if k.status == "grader_error"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "katas": [k.to_dict() for k in self.katas],
            "passed": self.passed,
            "total": self.total,
            "seed": self.seed,
            "workspace": self.workspace,
            "warnings": list(self.warnings),
            "grader_version": self.version,
        }

    def to_json(self) -> str:
        return to_strict_json(self.to_dict())
