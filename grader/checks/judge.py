"""The checks of a function kata, run in the grader's own process.

Each check is a small function of a `Context` that returns a `CheckResult` and never
prints. The submission's side arrives as plain tensors from the sandboxed child; the
reference side is computed here, from the reference solution, on the same cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from grader.core.compare import Comparison, compare, equal_exactly, fmt_index, fmt_num
from grader.core.faults import stage
from grader.core.results import CheckResult
from grader.core.kata import Mistake
from grader.checks.function import REQUIRED, FunctionSpec, run_case
from grader.checks.cases import Case

SMALL_INPUT = 24  # show a failing case's inputs when every tensor has at most this many elements


@dataclass
class Context:
    spec: FunctionSpec
    cases: list[Case]
    reference: Callable
    cand: dict[str, Any]
    mistakes: tuple[Mistake, ...]
    hint_command: str
    ref_runs: list[dict[str, Any]] | None = None  # the reference's runs on `cases`, when already computed

    def __post_init__(self) -> None:
        if self.ref_runs is None:
            self.ref_runs = reference_runs(self.spec, self.reference, self.cases)
        self.runs: list[dict[str, Any]] = self.cand["runs"]


def reference_runs(spec: FunctionSpec, reference: Callable, cases: list[Case]) -> list[dict[str, Any]]:
    """What the reference computes on every case; depends only on the seed, so one list serves
    every submission graded with it (checks only read it)."""
    return [run_case(spec, reference, c) for c in cases]


def judge(ctx: Context, check_names: tuple[str, ...]) -> list[CheckResult]:
    """Run the named checks; one that raises is the grader's fault, named (grader.core.faults)."""
    results = []
    for name in check_names:
        with stage("judging", check=name):
            if name not in CHECKS:
                raise LookupError(f"the kata lists the check '{name}', which grader/checks/judge.py does not implement")
            results.append(CHECKS[name](ctx))
    return suggest_next_step(results, ctx.hint_command)


def suggest_next_step(results: list[CheckResult], hint_command: str) -> list[CheckResult]:
    """End every unexplained failure with where to look next.

    When one check recognised a catalogued mistake, the other failures are most likely its
    consequences, and saying so beats calling them unknown.
    """
    found = next((c for c in results if c.mistake), None)
    for c in results:
        if c.status != "fail" or c.mistake or c.advisory:
            continue
        if found is not None:
            c.message += f" Probably a consequence of '{found.mistake}' (see {found.name})."
        else:
            c.message += f" Not one of the catalogued mistakes; `{hint_command}` explains the computation step by step."
    return results


# ---------------------------------------------------------------------- helpers
def error_text(err: dict[str, Any]) -> str:
    where = f" at {err['where']}" if err.get("where") else ""
    msg = err["message"].splitlines()[0] if err["message"] else ""
    return f"raised {err['type']}: {msg}{where}"


def show_inputs(case: Case) -> str:
    """A small input that shows the failure, when the case is small enough to read."""
    if any(t.numel() > SMALL_INPUT for t in case.inputs.values()):
        return ""
    parts = []
    for k, v in case.inputs.items():
        vals = v.tolist()
        parts.append(f"{k}={_round(vals)}")
    parts += [f"{k}={_round(v.tolist()) if isinstance(v, torch.Tensor) else v!r}" for k, v in case.options.items()]
    return " Input: " + ", ".join(parts) + "."


def _round(x: Any) -> Any:
    if isinstance(x, list):
        return [_round(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.4g}")
    return x


def smallest_first(indices: list[int], cases: list[Case]) -> list[int]:
    return sorted(indices, key=lambda i: sum(t.numel() for t in cases[i].inputs.values()))


def value_cases(ctx: Context, extreme: bool) -> list[int]:
    return [i for i, c in enumerate(ctx.cases) if c.extreme == extreme]


def diagnose(ctx: Context, check: str, indices: list[int]) -> Mistake | None:
    """The catalogued mistake whose model reproduces the submission's output on every case."""
    for mistake in ctx.mistakes:
        if mistake.check != check or mistake.name not in ctx.spec.models:
            continue
        if _reproduces(ctx, mistake, indices):
            return mistake
    return None


def _reproduces(ctx: Context, mistake: Mistake, indices: list[int]) -> bool:
    """True when one variant of the mistake's model gives the submission's output on every case.

    A model may return a list of dicts: the ways people commonly write the same mistake.
    A case where both the model and the submission raise counts as consistent.
    """
    spec = ctx.spec
    per_case = []
    for i in indices:
        try:
            with torch.no_grad():
                out = spec.call(spec.models[mistake.name], ctx.cases[i])
            per_case.append(out if isinstance(out, list) else [out])
        except Exception:
            per_case.append(None)
    n_variants = max((len(v) for v in per_case if v is not None), default=0)
    for k in range(n_variants):
        matched, consistent = 0, True
        for i, variants in zip(indices, per_case):
            run = ctx.runs[i]
            if variants is None or run["error"]:
                consistent = (variants is None) == bool(run["error"])
            elif k >= len(variants):  # this variant does not exist for this case's inputs
                consistent = False
            else:
                for name, expected in variants[k].items():
                    got = run["outputs"][spec.outputs.index(name)]
                    consistent = consistent and compare(got, expected, ctx.cases[i].scale).ok
                matched += 1
            if not consistent:
                break
        if consistent and matched:
            return True
    return False


def constant_in(ref_run: dict[str, Any], grad_input: str) -> bool:
    """True when the reference's result does not move with `grad_input` on this case (an all-zero
    gradient, e.g. sequence_logps with no counted token): a result with no graph is right there."""
    grad = ref_run["grads"].get(grad_input)
    return grad is not None and not bool(grad.any())


def named(mistake: Mistake | None) -> str:
    return f" This is the known mistake '{mistake.name}': {mistake.advice}" if mistake else ""


def fail(name: str, message: str, mistake: Mistake | None = None, **details: Any) -> CheckResult:
    return CheckResult(name, "fail", message, mistake=mistake.name if mistake else None, details=details)


# ---------------------------------------------------------------------- checks
def check_signature(ctx: Context) -> CheckResult:
    spec, sig = ctx.spec, ctx.cand.get("signature")
    want = f"{spec.function}({', '.join(p.render() for p in spec.params)})"
    if sig is None:
        return CheckResult("signature", "skip", "the signature cannot be inspected (not a Python function)")
    got = f"{spec.function}({', '.join(p['name'] + ('=' + repr(p['default']) if p['has_default'] else '') for p in sig)})"
    named_params = [p for p in sig if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")]
    problems = []
    for i, want_p in enumerate(spec.params):
        if i >= len(named_params) or named_params[i]["name"] != want_p.name:
            have = named_params[i]["name"] if i < len(named_params) else "nothing"
            problems.append(f"parameter {i + 1} should be '{want_p.name}', found {have}")
            continue
        p = named_params[i]
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


def _same_default(got: Any, want: Any) -> bool:
    try:
        return float(got) == float(want)
    except (TypeError, ValueError):
        return got == want


def check_output_types(ctx: Context) -> CheckResult:
    spec = ctx.spec
    problems, checked = [], 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, ref = ctx.runs[i], ctx.ref_runs[i]
        if run["error"]:
            continue
        checked += 1
        if len(spec.outputs) > 1 and run.get("container") not in ("tuple", "list"):
            problems.append(f"case {ctx.cases[i].describe()}: expected a tuple {spec.outputs}, got {run.get('container')}")
            continue
        for name, got, want in zip(spec.outputs, run["types"], ref["types"]):
            if not got["tensor"]:
                problems.append(f"case {ctx.cases[i].describe()}: '{name}' should be a tensor, got {got['type']}")
            elif got["shape"] != want["shape"]:
                problems.append(f"case {ctx.cases[i].describe()}: '{name}' should have shape {want['shape']}, got {got['shape']}")
            elif got["dtype"] != want["dtype"]:
                problems.append(f"case {ctx.cases[i].describe()}: '{name}' should be {want['dtype']} (the inputs' dtype), got {got['dtype']}")
    if not checked:
        return _all_errored("output_types", ctx)
    if problems:
        return fail("output_types", problems[0] + (f" ({len(problems) - 1} more like it)" if len(problems) > 1 else ""))
    return CheckResult("output_types", "pass", f"{len(spec.outputs)} output(s) of the right shape and dtype on {checked} cases")


def _all_errored(name: str, ctx: Context) -> CheckResult:
    err = next(r["error"] for r in ctx.runs if r["error"])
    return CheckResult(name, "error", f"every case {error_text(err)}")


def check_values(ctx: Context, name: str = "values", extreme: bool = False) -> CheckResult:
    spec = ctx.spec
    indices = value_cases(ctx, extreme)
    mismatches: list[tuple[int, str, Comparison]] = []
    errors: list[tuple[int, dict]] = []
    for i in smallest_first(indices, ctx.cases):
        run, ref, case = ctx.runs[i], ctx.ref_runs[i], ctx.cases[i]
        if run["error"]:
            errors.append((i, run["error"]))
            continue
        for out_name, got, want in zip(spec.outputs, run["outputs"], ref["outputs"]):
            cmp = compare(got, want, case.scale)
            if not cmp.ok:
                mismatches.append((i, out_name, cmp))
                break
    if not mismatches and not errors:
        return CheckResult(name, "pass", f"all outputs match the reference on {len(indices)} cases")
    if not mismatches:
        i, err = errors[0]
        return CheckResult(name, "error", f"case {ctx.cases[i].describe()} {error_text(err)}"
                           + (f" ({len(errors)} of {len(indices)} cases raised)" if len(errors) > 1 else ""))
    i, out_name, cmp = mismatches[0]
    case = ctx.cases[i]
    mistake = diagnose(ctx, name, indices)
    msg = f"case {case.describe()}: " + cmp.explain(f"'{out_name}'") + "."
    msg += show_inputs(case)
    failed = {j for j, _, _ in mismatches}
    msg += f" {len(failed)} of {len(indices)} cases differ"
    msg += f"; {len(errors)} raised." if errors else "."
    return fail(name, msg + named(mistake), mistake)


def check_stability(ctx: Context) -> CheckResult:
    return check_values(ctx, "stability", extreme=True)


def check_gradients(ctx: Context) -> CheckResult:
    spec = ctx.spec
    problems, checked = [], 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, ref, case = ctx.runs[i], ctx.ref_runs[i], ctx.cases[i]
        if run["error"]:
            continue
        if run["backward_error"]:
            problems.append(f"case {case.describe()}: backward {error_text(run['backward_error'])}")
            continue
        checked += 1
        for g_name in spec.grad_inputs:
            got, want = run["grads"].get(g_name), ref["grads"][g_name]
            if got is None and constant_in(ref, g_name):
                continue
            if got is None:
                problems.append(f"case {case.describe()}: no gradient reaches '{g_name}'; the result is not computed from it")
                break
            cmp = compare(got, want, case.scale)
            if not cmp.ok:
                problems.append(f"case {case.describe()}: " + cmp.explain(f"d {spec.graph_output} / d {g_name}"))
                break
    if not checked and not problems:
        return _all_errored("gradients", ctx)
    if problems:
        mistake = diagnose(ctx, "gradients", list(range(len(ctx.cases))))
        more = f" ({len(problems) - 1} more cases like it)" if len(problems) > 1 else ""
        return fail("gradients", problems[0] + more + "." + named(mistake), mistake)
    return CheckResult("gradients", "pass", f"gradients w.r.t. {', '.join(spec.grad_inputs)} match on {checked} cases")


def check_gradcheck(ctx: Context) -> CheckResult:
    gc = ctx.cand["gradcheck"]
    if not gc["ran"]:
        return CheckResult("gradcheck", "skip", "no hand-written backward: autograd derives the gradient")
    if gc["ok"]:
        return CheckResult("gradcheck", "pass", f"the custom backward passes torch.autograd.gradcheck on case '{gc['case']}' (float64)")
    return fail("gradcheck", f"the custom backward disagrees with finite differences on case '{gc['case']}': {gc['message']}")


def check_masked_grad_zero(ctx: Context) -> CheckResult:
    spec = ctx.spec
    checked = 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, case = ctx.runs[i], ctx.cases[i]
        for g_name in spec.masks:
            grad = run["grads"].get(g_name) if not run["error"] else None
            if grad is None or grad.shape != case.inputs[g_name].shape:
                continue
            checked += 1
            masked = spec.masked_positions(case, g_name)
            leaks = masked & (grad != 0)
            if bool(leaks.any()):
                idx = tuple(int(x) for x in leaks.nonzero()[0])
                mistake = next((m for m in ctx.mistakes if m.check == "masked_grad_zero"), None)
                return fail("masked_grad_zero",
                            f"case {case.describe()}: d {spec.graph_output} / d {g_name} is nonzero at "
                            f"{int(leaks.sum())} of {int(masked.sum())} masked positions, e.g. {fmt_index(idx)} = "
                            f"{fmt_num(float(grad[idx]))}. Prompt and padding tokens must not move the loss."
                            + named(mistake), mistake)
    if not checked:
        return CheckResult("masked_grad_zero", "skip", "no gradient to inspect (see the gradients check)")
    return CheckResult("masked_grad_zero", "pass", f"gradients are exactly 0 at every masked position ({checked} tensors)")


def check_rewards_detached(ctx: Context) -> CheckResult:
    spec = ctx.spec
    for i, run in enumerate(ctx.runs):
        if run["error"]:
            continue
        for name in spec.detached:
            t = run["types"][spec.outputs.index(name)]
            if t["tensor"] and (t["requires_grad"] or t["grad_fn"]):
                mistake = next((m for m in ctx.mistakes if m.check == "rewards_detached"), None)
                return fail("rewards_detached", f"case {ctx.cases[i].describe()}: '{name}' carries an autograd graph "
                            f"(requires_grad=True)." + named(mistake), mistake)
    if all(r["error"] for r in ctx.runs):
        return _all_errored("rewards_detached", ctx)
    return CheckResult("rewards_detached", "pass", f"{', '.join(spec.detached)} carry no graph")


def _mistake_at(ctx: Context, check: str, mentions: str = "") -> Mistake | None:
    """The catalogued mistake of `check` whose name mentions `mentions` (else the first of `check`)."""
    at = [m for m in ctx.mistakes if m.check == check]
    return next((m for m in at if mentions and mentions in m.name), at[0] if at else None)


def check_constants_detached(ctx: Context) -> CheckResult:
    spec = ctx.spec
    checked = 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, case = ctx.runs[i], ctx.cases[i]
        if run["error"] or run["backward_error"]:
            continue
        checked += 1
        for name in spec.constants:
            grad = run["grads"].get(name)
            if grad is not None and bool((grad != 0).any()):
                mistake = _mistake_at(ctx, "constants_detached", name)
                moved = int((grad != 0).sum())
                return fail("constants_detached",
                            f"case {case.describe()}: a gradient reaches '{name}' ({moved} of {grad.numel()} elements "
                            f"nonzero), which is a constant of the objective. Detach it (`{name}.detach()`) before "
                            "using it: with a graph through it, the loss's gradient is not the contract's."
                            + named(mistake), mistake)
    if not checked:
        return _all_errored("constants_detached", ctx) if any(r["error"] for r in ctx.runs) else \
            CheckResult("constants_detached", "skip", "no backward pass completed (see the gradients check)")
    return CheckResult("constants_detached", "pass", f"no gradient reaches {', '.join(spec.constants)} "
                       f"on {checked} cases")


def check_bad_input(ctx: Context) -> CheckResult:
    probes = ctx.cand.get("bad_inputs") or []
    if not probes:
        return CheckResult("bad_input", "skip", "no rejected inputs in this kata's contract")
    for p in probes:
        if p.get("value_error"):
            continue
        mistake = _mistake_at(ctx, "bad_input")
        got = "returned a result without raising" if p.get("raised") is None else \
            f"raised {p['raised']} ({(p.get('message') or '').splitlines()[0][:120] if p.get('message') else ''})"
        return fail("bad_input", f"input '{p['case']}' should raise ValueError with a message saying what is wrong; "
                    f"it {got}." + named(mistake), mistake)
    return CheckResult("bad_input", "pass", f"all {len(probes)} rejected inputs raise ValueError: "
                       + ", ".join(p["case"] for p in probes))


def check_keeps_graph(ctx: Context) -> CheckResult:
    spec = ctx.spec
    j = spec.outputs.index(spec.graph_output)
    for i, run in enumerate(ctx.runs):
        if run["error"]:
            continue
        t = run["types"][j]
        if t["tensor"] and not t["grad_fn"] and not all(constant_in(ctx.ref_runs[i], g) for g in spec.grad_inputs):
            return fail("keeps_graph", f"case {ctx.cases[i].describe()}: '{spec.graph_output}' is not connected to the "
                        "inputs' graph (grad_fn is None). Something on the way cut it: .item(), .detach(), "
                        "torch.tensor(...) around a result, or a NumPy round trip.")
    if all(r["error"] for r in ctx.runs):
        return _all_errored("keeps_graph", ctx)
    return CheckResult("keeps_graph", "pass", f"'{spec.graph_output}' has a grad_fn on every case")


def check_inputs_unchanged(ctx: Context) -> CheckResult:
    for i, (run, case) in enumerate(zip(ctx.runs, ctx.cases)):
        for name, before in case.inputs.items():
            after = run["inputs_after"].get(name)
            if after is None or not equal_exactly(after, before):
                return fail("inputs_unchanged", f"case {case.describe()}: '{name}' was modified in place by the call. "
                            "Work on new tensors (x = x * m, not x *= m; no .masked_fill_ or .copy_ on inputs).")
    return CheckResult("inputs_unchanged", "pass", f"all {sum(len(c.inputs) for c in ctx.cases)} input tensors unchanged")


def check_row_independence(ctx: Context) -> CheckResult:
    spec = ctx.spec
    i = spec.row_case
    case, run, rows = ctx.cases[i], ctx.runs[i], ctx.cand["rows"]
    if run["error"]:
        return CheckResult("row_independence", "error", f"case {case.describe()} {error_text(run['error'])}")
    if "error" in rows:
        return CheckResult("row_independence", "error", f"graded one row at a time, the function {error_text(rows['error'])}")
    combine = spec.combine_rows or spec.default_combine
    try:
        expected = combine(rows["outputs"], case)
    except Exception as exc:  # rows of the wrong shape or type
        return fail("row_independence", f"row-by-row outputs cannot be combined ({type(exc).__name__}: {exc}); see output_types")
    for name, got, want in zip(spec.outputs, run["outputs"], expected):
        cmp = compare(got, want, case.scale)
        if not cmp.ok:
            return fail("row_independence", f"case {case.describe()}: graded as a batch vs one row at a time, "
                        + cmp.explain(f"'{name}'") + ". Rows influence each other: a normaliser or a reduction taken over "
                        "the whole batch (e.g. dividing by the batch's total token count) instead of per row.")
    return CheckResult("row_independence", "pass", f"batch of {len(rows['outputs'])} rows equals its rows graded one by one")


def check_cuda_agreement(ctx: Context) -> CheckResult:
    cuda = ctx.cand["cuda"]
    if "skip" in cuda:
        return CheckResult("cuda_agreement", "skip", cuda["skip"])
    spec = ctx.spec
    for key, crun in cuda["runs"].items():
        i = int(key)
        case, cpu = ctx.cases[i], ctx.runs[i]
        if crun["error"]:
            return CheckResult("cuda_agreement", "error", f"on CUDA, case {case.describe()} {error_text(crun['error'])}")
        if cpu["error"]:
            continue
        for name, got, want in zip(spec.outputs, crun["outputs"], cpu["outputs"]):
            if isinstance(want, torch.Tensor):
                cmp = compare(got, want, case.scale)
                if not cmp.ok:
                    return fail("cuda_agreement", f"case {case.describe()}: CUDA vs CPU, " + cmp.explain(f"'{name}'") + ".")
        for name, want in cpu["grads"].items():
            got = crun["grads"].get(name)
            if want is not None and got is not None and not compare(got, want, case.scale).ok:
                return fail("cuda_agreement", f"case {case.describe()}: CUDA vs CPU, " + compare(got, want, case.scale).explain(f"d/d {name}") + ".")
    return CheckResult("cuda_agreement", "pass", f"{len(cuda['runs'])} cases agree on {cuda['device']} and the CPU")


def check_device_hygiene(ctx: Context) -> CheckResult:
    meta = ctx.cand["meta"]
    if meta["status"] == "ok":
        return CheckResult("device_hygiene", "pass", "runs on 'meta' tensors: no tensor is pinned to a fixed device", advisory=True)
    if meta["status"] == "not_applicable":
        return CheckResult("device_hygiene", "skip", f"not applicable: the code cannot run on 'meta' tensors "
                           f"(data-dependent shapes or values; {meta['detail']})", advisory=True)
    return CheckResult("device_hygiene", "fail", f"a tensor is created on a fixed device: {meta['detail']}. Pass "
                       "device=x.device (or use torch.zeros_like / x.new_zeros) so the code also runs on GPU.", advisory=True)


def check_behaviour(ctx: Context) -> CheckResult:
    beh = ctx.cand.get("behaviour")
    if beh is None or ctx.spec.behaviour is None:
        return CheckResult("behaviour", "skip", "no behaviour run for this kata")
    if "error" in beh:
        return CheckResult("behaviour", "error", f"training the toy policy with your function, it {error_text(beh['error'])}")
    return ctx.spec.behaviour.judge(beh["data"])


CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "signature": check_signature,
    "output_types": check_output_types,
    "values": check_values,
    "stability": check_stability,
    "gradients": check_gradients,
    "gradcheck": check_gradcheck,
    "masked_grad_zero": check_masked_grad_zero,
    "rewards_detached": check_rewards_detached,
    "keeps_graph": check_keeps_graph,
    "constants_detached": check_constants_detached,
    "bad_input": check_bad_input,
    "inputs_unchanged": check_inputs_unchanged,
    "row_independence": check_row_independence,
    "cuda_agreement": check_cuda_agreement,
    "device_hygiene": check_device_hygiene,
    "behaviour": check_behaviour,
}
