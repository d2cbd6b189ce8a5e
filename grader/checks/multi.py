"""A kata of several functions graded with the same checks (e.g. `advantages`: group and RLOO).

`FunctionsSpec` holds one `FunctionSpec` per entry point and follows the spec interface of
`grader.checks.function` (`make_cases`, `probe`, `expected`, `judge`). Each part is probed and
judged exactly as a one-function kata; the kata then reports each check once, merged over
the parts: it fails when any part fails, and every part's message is kept, prefixed with its
function's name, so the report says which function is wrong. The behaviour run, when there
is one, gets the whole module (it may need every function) and is judged once.

A case belongs to the part whose function name prefixes it (`"group_advantages: ..."`);
`make_cases` adds the prefix, so a part's own `make_cases` names its cases as usual.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

from grader.checks import schema as _schema
from grader.checks.cases import Case
from grader.checks.function import FunctionSpec, describe_error
from grader.core.faults import MalformedResults
from grader.core.results import CheckResult

# A part that returns no result is reported at its first check; the others wait for it.
WAITS = "waits for {function}"


class ModuleBehaviour(Protocol):
    """A FunctionsSpec's behaviour run: like a function kata's, but it receives the submission's
    module, since it may use every function."""

    def run(self, module: Any, seed: int) -> dict[str, Any]: ...  # in the child
    def judge(self, data: dict[str, Any]) -> CheckResult: ...  # in the grader


@dataclasses.dataclass
class FunctionsSpec:
    parts: tuple[FunctionSpec, ...]
    behaviour: ModuleBehaviour | None = None

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(p.function for p in self.parts)

    @property
    def grad_inputs(self) -> tuple[str, ...]:
        """Every function's differentiated inputs (none: the kata's outputs are targets without a graph)."""
        return tuple(dict.fromkeys(n for p in self.parts for n in p.grad_inputs))

    @property
    def models(self) -> dict[str, Callable[..., Any]]:
        return {name: model for p in self.parts for name, model in p.models.items()}

    def make_cases(self, seed: int) -> list[Case]:
        out = []
        for part in self.parts:
            for case in part.make_cases(seed):
                out.append(dataclasses.replace(case, name=f"{part.function}: {case.name}"))
        return out

    def cases_of(self, part: FunctionSpec, cases: list[Case]) -> list[Case]:
        return [c for c in cases if c.name.startswith(f"{part.function}: ")]

    # ------------------------------------------------------------------ child side
    def probe(self, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
        parts = {p.function: p.probe(module, self.cases_of(p, cases), seed, cuda) for p in self.parts}
        fatal = [r["fatal"] for r in parts.values() if "fatal" in r]
        if len(fatal) == len(self.parts):  # nothing to grade yet
            if all(f["kind"] == "missing" for f in fatal):
                return {"fatal": {"kind": "missing", "message": "defines none of the functions "
                                  + ", ".join(f"'{f}'" for f in self.functions)}}
            return {"fatal": {"kind": "not_started", "message": " and ".join(self.functions)
                              + " still raise NotImplementedError"}}
        result: dict[str, Any] = {"parts": parts}
        if self.behaviour is not None and not fatal:
            try:
                result["behaviour"] = {"data": self.behaviour.run(module, seed)}
            except Exception as exc:  # the submission failed during the run
                result["behaviour"] = {"error": describe_error(exc)}
        return result

    # ------------------------------------------------------------------ grader side
    def malformed(self, cases: list[Case], result: dict[str, Any]) -> str:
        """Why a child's report is not what an honest child writes ("" when it is): each part's
        report is checked as its own FunctionSpec checks a one-function kata's."""
        parts = result.get("parts")
        if not isinstance(parts, dict) or any(not isinstance(parts.get(f), dict) for f in self.functions):
            return f"no results for each of {', '.join(self.functions)}"
        for p in self.parts:
            got = parts[p.function]
            problem = _schema.problem(got["fatal"], _schema.FATAL, "its fatal error") if "fatal" in got \
                else p.malformed(self.cases_of(p, cases), got)
            if problem:
                return f"{p.function}: {problem}"
        return _schema.problem(result.get("behaviour"), _schema.Opt(_schema.BEHAVIOUR), "the behaviour run")

    def expected(self, reference: Any, cases: list[Case]) -> list[dict[str, Any]]:
        return [run for p in self.parts for run in p.expected(reference, self.cases_of(p, cases))]

    def judge(self, reference: Any, cases: list[Case], cand: dict[str, Any], kata: Any,
              expected: list[dict[str, Any]] | None = None) -> list[CheckResult]:
        from grader.checks.judge import error_text, errored, suggest_next_step

        names = [n for n in kata.check_names if n != "behaviour"]
        part_kata = dataclasses.replace(kata, checks=tuple(c for c in kata.checks if c.name != "behaviour"))
        problem = self.malformed(cases, cand)  # the engine asks first; judged alone, it is asked here
        if problem:
            raise MalformedResults(problem)
        parts = cand["parts"]
        per_part: list[tuple[str, dict[str, CheckResult]]] = []
        start = 0
        for p in self.parts:
            own = self.cases_of(p, cases)
            ref_runs = expected[start:start + len(own)] if expected is not None else None
            start += len(own)
            got = parts[p.function]
            if "fatal" in got:
                why = f"{p.function} still raises NotImplementedError" if got["fatal"].get("kind") == "not_started" \
                    else f"{kata.filename} {got['fatal'].get('message', '')}"
                results = {n: CheckResult(n, "error" if i == 0 else "skip",
                                          why if i == 0 else WAITS.format(function=p.function))
                           for i, n in enumerate(names)}
            else:
                results = {r.name: r for r in p.judge(reference, own, got, part_kata, ref_runs)}
            per_part.append((p.function, results))
        merged = [merge(n, [(f, r[n]) for f, r in per_part]) for n in names]
        if "behaviour" in kata.check_names:
            beh = cand.get("behaviour")
            if beh is None or self.behaviour is None:
                out = CheckResult("behaviour", "skip", f"needs {' and '.join(self.functions)}")
            elif "error" in beh:
                out = errored("behaviour", f"running your functions, it {error_text(beh['error'])}", beh["error"])
            else:
                out = self.behaviour.judge(beh["data"])
            found = [r for r in merged if r.mistake][:1]
            suggest_next_step(found + [out], f"kata hint {kata.name}")
            merged.append(out)
        return [next(r for r in merged if r.name == n) for n in kata.check_names]


def merge(name: str, results: list[tuple[str, CheckResult]]) -> CheckResult:
    """One check's verdict over the parts: the worst status, and each part's message by function.

    A failure or error shows only the parts that failed (with the first failing part's mistake);
    a pass or skip shows every part's message.
    """
    statuses = [r.status for _, r in results]
    status = next((s for s in ("fail", "error", "pass") if s in statuses), "skip")
    shown = [(f, r) for f, r in results if r.status == status] if status in ("fail", "error") else results
    texts = [r.message for _, r in shown]
    # The same words for every part (e.g. "CUDA is not available") are said once.
    message = texts[0] if len(set(texts)) == 1 and len(texts) > 1 else " | ".join(f"{f}: {r.message}" for f, r in shown)
    mistake = next((r.mistake for _, r in shown if r.mistake), None)
    details = {k: v for _, r in shown for k, v in r.details.items()}
    return CheckResult(name, status, message, mistake=mistake, advisory=all(r.advisory for _, r in results),
                       details=details)

