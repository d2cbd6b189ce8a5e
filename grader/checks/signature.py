"""The `signature` check: the function's parameters, in the contract's order, of kinds that
take a call by position and by name, with the contract's defaults."""
from __future__ import annotations

from typing import Any

from grader.core.results import CheckResult
from grader.checks.context import Context, fail
from grader.checks.spec import REQUIRED


def check_signature(ctx: Context) -> CheckResult:
    spec, sig = ctx.spec, ctx.cand.get("signature")
    want = f"{spec.function}({', '.join(p.render() for p in spec.params)})"
    if sig is None:
        return CheckResult("signature", "skip", "the signature cannot be inspected (not a Python function)")
    got = f"{spec.function}({', '.join(_rendered(sig))})"
    named_params = [p for p in sig if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")]
    problems = []
    for i, want_p in enumerate(spec.params):
        if i >= len(named_params) or named_params[i]["name"] != want_p.name:
            have = named_params[i]["name"] if i < len(named_params) else "nothing"
            problems.append(f"parameter {i + 1} should be '{want_p.name}', found {have}")
            continue
        p = named_params[i]
        if p["kind"] == "KEYWORD_ONLY":
            problems.append(f"'{want_p.name}' is keyword-only (it follows * or *args), so a call that passes it by "
                            "position raises")
        elif p["kind"] == "POSITIONAL_ONLY":
            problems.append(f"'{want_p.name}' is positional-only (it precedes /), so a call that passes it by name "
                            "raises")
        if want_p.default is not REQUIRED:
            if not p["has_default"]:
                problems.append(f"'{want_p.name}' should default to {want_p.default!r}")
            elif not _same_default(p["default"], want_p.default):
                problems.append(f"'{want_p.name}' defaults to {p['default']!r}, the contract says {want_p.default!r}")
    extra = [p["name"] for p in named_params[len(spec.params):] if not p["has_default"]]
    if extra:
        problems.append(f"extra required parameters {extra}")
    if problems:
        return fail("signature", f"expected {want}; got {got}: " + "; ".join(problems) + ".")
    return CheckResult("signature", "pass", want)


def _rendered(sig: list[dict[str, Any]]) -> list[str]:
    """The parameters as `def` writes them, with `/` and `*` where their kinds change."""
    out, kinds = [], [p["kind"] for p in sig]
    for k, p in enumerate(sig):
        if p["kind"] == "KEYWORD_ONLY" and "VAR_POSITIONAL" not in kinds[:k] and "KEYWORD_ONLY" not in kinds[:k]:
            out.append("*")
        prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(p["kind"], "")
        out.append(prefix + p["name"] + ("=" + repr(p["default"]) if p["has_default"] else ""))
        if p["kind"] == "POSITIONAL_ONLY" and (k + 1 == len(sig) or kinds[k + 1] != "POSITIONAL_ONLY"):
            out.append("/")
    return out


def _same_default(got: Any, want: Any) -> bool:
    try:
        return float(got) == float(want)
    except (TypeError, ValueError):
        return got == want
