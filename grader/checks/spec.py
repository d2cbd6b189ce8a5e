"""The spec interface: what the engine and the sandboxed child call on a kata's torch side.

A kata's spec (`grader.catalog.NAME.spec.SPEC`) implements `Spec`. The engine calls, in order,
`make_cases(seed)` (once per kata and seed), `expected(reference, cases)` (the reference's runs,
once per kata and seed), `malformed(cases, result)` on each child's report (a forged or broken
report is an error before any check reads it) and `judge(...)`; the child calls only
`probe(module, cases, seed, cuda)`. `grader.checks.function.FunctionSpec` implements it for a
function; a class kata composes one FunctionSpec per function with its own class probe, and
judges its class checks with the same `Context -> CheckResult` signature and the same
diagnosis helpers (see `grader.catalog.bt`).

This module imports nothing from the rest of `grader.checks`, so every other module of the
package may import it: the record types (`Param`) live here too.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    """One parameter of an entry point, with its default (REQUIRED when it has none)."""

    name: str
    default: Any = REQUIRED

    def render(self) -> str:
        return self.name if self.default is REQUIRED else f"{self.name}={self.default!r}"


class Behaviour(Protocol):
    def run(self, fn: Callable, seed: int) -> dict[str, Any]: ...  # in the child, with the submission
    def judge(self, data: dict[str, Any]) -> Any: ...  # in the grader, returns a CheckResult


@runtime_checkable
class Spec(Protocol):
    """Everything the engine and the worker call on a kata's spec."""

    def make_cases(self, seed: int) -> list[Any]:
        """The seeded cases (`grader.checks.cases.Case`): a fixed battery plus seeded random ones."""
        ...

    def probe(self, module: Any, cases: list[Any], seed: int, cuda: str) -> dict[str, Any]:
        """Child side: run the submission on `cases`; return plain tensors and plain data only
        (`{"fatal": {"kind": ..., "message": ...}}` when it cannot be graded at all)."""
        ...

    def expected(self, reference: Any, cases: list[Any]) -> Any:
        """Grader side: the reference module's runs on `cases`, shared by every submission."""
        ...

    def malformed(self, cases: list[Any], result: dict[str, Any]) -> str:
        """Grader side: why a child's report is not what an honest child writes ("" when it is)."""
        ...

    def judge(self, reference: Any, cases: list[Any], cand: dict[str, Any], kata: Any,
              expected: Any = None) -> list[Any]:
        """Grader side: one CheckResult per name in `kata.check_names`, in that order."""
        ...
