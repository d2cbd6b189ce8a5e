"""Result objects shared by the engine, the renderer, the JSON output and the notebook API.

A check returns a `CheckResult`; it never prints. Everything that reaches a person or a
tool is built from these objects.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CHECK_STATUSES = ("pass", "fail", "skip", "error")
KATA_STATUSES = ("pass", "fail", "error", "timeout", "not_started", "grader_error")  # grader_error: no verdict


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
    fault: dict[str, Any] | None = None  # status grader_error: stage, check, exception (grader.core.faults)

    def __post_init__(self) -> None:
        assert self.status in KATA_STATUSES, f"unknown kata status {self.status!r}"

    @classmethod
    def from_checks(cls, name: str, checks: list[CheckResult], **kw: Any) -> "KataResult":
        status = "fail" if any(c.decides_failure for c in checks) else "pass"
        return cls(name=name, status=status, checks=checks, **kw)

    @classmethod
    def from_fault(cls, name: str, fault: Any, **kw: Any) -> "KataResult":
        """No verdict: the grader's own code failed (`fault` is a grader.core.faults.GraderFault)."""
        return cls(name=name, status="grader_error", message=fault.message, fault=fault.to_dict(), **kw)

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
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
