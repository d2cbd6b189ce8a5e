"""The numeric checks: values, stability, gradients and gradcheck, each a `Context -> CheckResult`."""
from __future__ import annotations

import torch

from grader.core.compare import Comparison, compare
from grader.checks.cases import Case
from grader.core.results import CheckResult
from grader.core.tolerances import FLOAT32_INSIDE
from grader.checks.context import (Context, all_errored, bare_call, constant_in, error_text, errored, fail, named,
                                   show_inputs, smallest_first, value_cases)
from grader.core.frames import frames_of
from grader.checks.diagnose import diagnose, error_finding, explain, finding
from grader.checks.probe import trained_inputs


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
        return _without_graph(ctx, name, indices) or \
            CheckResult(name, "pass", f"all outputs match the reference on {len(indices)} cases, called with "
                        "and without a graph")
    if not mismatches:
        i, err = errors[0]
        msg = f"case {ctx.cases[i].describe()} {error_text(err)}" + \
            (f" ({len(errors)} of {len(indices)} cases raised)" if len(errors) > 1 else "")
        key = error_finding(err)
        if key is None:
            return errored(name, msg, err)
        # A valid input the contract allows (a non-contiguous or expanded tensor) made it raise.
        mistake, said, details = finding(ctx, key)
        found = fail(name, msg + "." + said, mistake, **details)
        found.traceback = frames_of(err)
        return found
    i, out_name, cmp = mismatches[0]
    case = ctx.cases[i]
    mistake, said, details = explain(ctx, name, indices)
    msg = f"case {case.describe()}: " + cmp.explain(f"'{out_name}'") + "."
    msg += show_inputs(case)
    failed = {j for j, _, _ in mismatches}
    msg += f" {len(failed)} of {len(indices)} cases differ"
    msg += f"; {len(errors)} raised." if errors else "."
    return fail(name, msg + said, mistake, **details)


def _without_graph(ctx: Context, name: str, indices: list[int]) -> CheckResult | None:
    """The failure, if any, of the calls made with inputs that carry no graph (as rewards, values
    and a frozen model's log-probs are in training): the same outputs as the graded call, and
    outputs that no later call changes."""
    bare = ctx.cand["no_grad"]
    for i in smallest_first(indices, ctx.cases):
        run, ref, case = bare["runs"][i], ctx.ref_runs[i], ctx.cases[i]
        where = f"case {case.describe()}, {bare_call(run)}"
        if run["error"]:
            return errored(name, f"{where}: the function {error_text(run['error'])}; with a graph it ran",
                           run["error"])
        for out_name, got, want in zip(ctx.spec.outputs, run["outputs"], ref["outputs"]):
            cmp = compare(got, want, case.scale)
            if not cmp.ok:
                why = (" With a graph and the options by keyword the outputs match: the code takes another path "
                       "when its options come by position (a wrapper that forwards keywords only?) or when "
                       "nothing needs a gradient." if run.get("recording") else
                       " With a graph and the inputs by position the outputs match: the code reads its arguments in "
                       "the order they come (a wrapper that lines keywords up by position?) or takes another path "
                       "when nothing needs a gradient." if run.get("by_name") is True else
                       " With a graph the outputs match: the code takes another path when nothing needs a gradient.")
                return fail(name, f"{where}: " + cmp.explain(f"'{out_name}'") + "." + why + show_inputs(case))
    trained = ctx.cand.get("trained") or []
    names = ", ".join(trained_inputs(ctx.spec))
    for i in smallest_first(indices, ctx.cases) if trained else ():
        run, ref, case = trained[i], ctx.ref_runs[i], ctx.cases[i]
        if run["error"]:
            continue  # judged by gradients, which says how it ran
        for out_name, got, want in zip(ctx.spec.outputs, run["outputs"], ref["outputs"]):
            cmp = compare(got, want, case.scale)
            if not cmp.ok:
                return fail(name, f"case {case.describe()}, with only {names} requiring grad (the constants frozen, "
                            "as in training): " + cmp.explain(f"'{out_name}'") + ". With every input requiring grad "
                            "the outputs match: the code takes another path when the constants carry no graph.")
    reused = bare.get("reused")
    if name == "values" and isinstance(reused, dict) and type(reused.get("case")) is int \
            and 0 <= reused["case"] < len(ctx.cases):
        case = ctx.cases[reused["case"]]
        output = str(reused.get("output"))[:100]
        return fail(name, f"case {case.describe()}: '{output}' changed after it was returned, when the function was "
                    "called again: the function keeps a tensor (a cache or a preallocated buffer) and writes the "
                    "next call's result into it. Return new tensors from every call.")
    return None


def check_stability(ctx: Context) -> CheckResult:
    return check_values(ctx, "stability", extreme=True)


def _nonfinite_where_finite(got: torch.Tensor, want: torch.Tensor) -> int:
    """How many entries of `got` are NaN or inf where `want` is finite."""
    if not (isinstance(got, torch.Tensor) and got.shape == want.shape and got.is_floating_point()):
        return 0
    return int((~torch.isfinite(got) & torch.isfinite(want)).sum())


def check_gradients(ctx: Context) -> CheckResult:
    """Every case, extreme magnitudes included: a gradient the reference has finite must be finite."""
    spec = ctx.spec
    problems, checked, nan_case, raised = [], 0, None, {}  # raised: problem index -> the error it reports
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, ref, case = ctx.runs[i], ctx.ref_runs[i], ctx.cases[i]
        if run["error"]:
            continue
        if run["backward_error"]:
            raised[len(problems)] = run["backward_error"]
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
                bad = _nonfinite_where_finite(got, want)
                values_right = all(compare(g, w, case.scale).ok for g, w in zip(run["outputs"], ref["outputs"])
                                   if isinstance(w, torch.Tensor))
                if bad and values_right and nan_case is None:
                    nan_case = (len(problems) - 1, bad, int(want.numel()))
                break
    if not checked and not problems:
        return all_errored("gradients", ctx)
    wrote = next((i for i, r in enumerate(ctx.runs) if not r["error"] and r.get("changed_by_backward")), None)
    if not problems and wrote is not None:
        output = str(ctx.runs[wrote]["changed_by_backward"][0])[:100]
        return fail("gradients", f"case {ctx.cases[wrote].describe()}: the backward changed '{output}' after the "
                    "function had returned it (a buffer used for scratch): the caller's logged values change "
                    "when it calls backward. Keep what the backward needs on ctx; write into new tensors.")
    changed = next((i for i, r in enumerate(ctx.runs) if not r["error"] and r.get("upstream_changed")), None)
    if not problems and changed is not None:
        return fail("gradients", f"case {ctx.cases[changed].describe()}: the backward changed the gradient it received "
                    "(grad_output) in place. The caller may share that tensor (an expanded sum's gradient, another "
                    "term's): compute a new tensor (grad_output * x, not grad_output.mul_(x)).")
    if not problems:
        return _as_in_training(ctx) or _alone(ctx) or _interleaved(ctx) or \
            CheckResult("gradients", "pass", f"gradients w.r.t. {', '.join(spec.grad_inputs)} match on {checked} "
                        "cases, extreme magnitudes included")
    if nan_case is not None:
        # NaN where the value is right: a guard, not a formula; say so before any model is tried.
        k, bad, total = nan_case
        mistake, said, details = finding(ctx, "nan_gradient")
        return fail("gradients", problems[k] + f" ({bad} of {total} entries NaN or inf where the reference's are "
                    "finite, while the values match)." + said, mistake, **details)
    mistake = diagnose(ctx, "gradients", list(range(len(ctx.cases))))
    more = f" ({len(problems) - 1} more cases like it)" if len(problems) > 1 else ""
    out = fail("gradients", problems[0] + more + "." + named(mistake), mistake)
    out.traceback = frames_of(raised.get(0))
    return out


def _as_in_training(ctx: Context) -> CheckResult | None:
    """The failure, if any, of the gradients taken as training takes them: only the trained
    inputs require grad (grader.checks.probe.probe_trained), the constants do not."""
    runs = ctx.cand.get("trained")
    if not runs:
        return None
    names = trained_inputs(ctx.spec)
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, ref, case = runs[i], ctx.ref_runs[i], ctx.cases[i]
        if ctx.runs[i]["error"] or ctx.runs[i]["backward_error"]:
            continue
        where = (f"case {case.describe()}, with only {', '.join(names)} requiring grad (the constants frozen, as in "
                 "training)")
        err = run.get("error") or run.get("backward_error")
        if err:
            return errored("gradients", f"{where}: the function {error_text(err)}; with every input requiring grad "
                           "it ran", err)
        differs = _grads_differ(ctx, run["grads"], ref, case, names)
        if differs:
            return fail("gradients", f"{where}: {differs}. With every input requiring grad it matches: a hand-written "
                        "backward must not depend on which inputs require grad (ctx.needs_input_grad says which to "
                        "compute).")
    return None


def _alone(ctx: Context) -> CheckResult | None:
    """The failure, if any, of the gradients taken with each grad input alone requiring grad
    (grader.checks.as_trained.probe_alone)."""
    for run in ctx.cand.get("alone") or []:
        i = run["case"]
        if not 0 <= i < len(ctx.cases) or run["input"] not in ctx.spec.grad_inputs:
            continue  # a constant alone (judged by constants_detached), or a forged index
        if ctx.runs[i]["error"] or ctx.runs[i]["backward_error"]:
            continue
        case, name = ctx.cases[i], run["input"]
        where = f"case {case.describe()}, with only {name} requiring grad (the other inputs without a graph)"
        err = run.get("error") or run.get("backward_error")
        if err:
            return errored("gradients", f"{where}: the function {error_text(err)}; with every input requiring grad "
                           "it ran", err)
        if run["grads"].get(name) is None and not constant_in(ctx.ref_runs[i], name):
            return fail("gradients", f"{where}: no gradient reaches '{name}'. With every input requiring grad it "
                        "does: the code detaches one input when another has no graph.")
        differs = _grads_differ(ctx, run["grads"], ctx.ref_runs[i], case, (name,))
        if differs:
            return fail("gradients", f"{where}: {differs}. With every input requiring grad it matches: a "
                        "hand-written backward must compute each input's gradient whatever the others need "
                        "(ctx.needs_input_grad says which to compute).")
    return None


def _grads_differ(ctx: Context, grads: dict, ref: dict, case: Case, names: tuple[str, ...]) -> str:
    """How the first of `names` whose gradient is off the reference's is off ("" when none is)."""
    for g_name in names:
        got, want = grads.get(g_name), ref["grads"].get(g_name)
        if want is None or (got is None and constant_in(ref, g_name)):
            continue
        cmp = compare(got, want, case.scale)
        if not cmp.ok:
            return cmp.explain(f"d {ctx.spec.graph_output} / d {g_name}")
    return ""


def _interleaved(ctx: Context) -> CheckResult | None:
    """The failure, if any, of the gradients taken after a second call built another graph
    (grader.checks.probe.probe_interleaved)."""
    probe = ctx.cand.get("interleaved")
    i = probe.get("case") if isinstance(probe, dict) else None
    if type(i) is not int or not 0 <= i < len(ctx.cases) or ctx.runs[i]["error"] or ctx.runs[i]["backward_error"]:
        return None
    case, ref = ctx.cases[i], ctx.ref_runs[i]
    where = (f"case {case.describe()}, differentiated after the function was called a second time on other inputs "
             "(two losses built before one backward, as with gradient accumulation or a policy and a value loss)")
    if probe["error"]:
        return errored("gradients", f"{where}: the function {error_text(probe['error'])}; called once it ran",
                       probe["error"])
    differs = _grads_differ(ctx, probe["grads"], ref, case, ctx.spec.grad_inputs)
    if differs:
        return fail("gradients", f"{where}: {differs}. Differentiated right after its own call it matches: the "
                    "backward reads something the second call overwrote (a class attribute, a module-level buffer). "
                    "Keep what backward needs on ctx (ctx.save_for_backward).")
    return None


def computes_in_float32(ctx: Context) -> bool:
    """True when the submission's outputs on float64 cases are off the reference by more than
    float64 rounding (FLOAT32_INSIDE): it computes (some of it) in float32 inside."""
    for i, case in enumerate(ctx.cases):
        run, ref = ctx.runs[i], ctx.ref_runs[i]
        if case.dtype != torch.float64 or case.extreme or run["error"]:
            continue
        for got, want in zip(run["outputs"], ref["outputs"]):
            if isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.shape == want.shape \
                    and got.is_floating_point():
                diff = (got.double() - want.double()).abs()
                if bool((diff > FLOAT32_INSIDE * (1 + want.double().abs())).any()):
                    return True
    return False


def check_gradcheck(ctx: Context) -> CheckResult:
    """gradcheck at float64's tolerances; at float32's where the code computes in float32 inside
    (its gradient was already compared with the reference's, at the dtype's tolerance)."""
    gc = ctx.cand["gradcheck"]
    if not gc["ran"]:
        return CheckResult("gradcheck", "skip", "no hand-written backward: autograd derives the gradient")
    if gc["ok"]:
        return CheckResult("gradcheck", "pass", f"the custom backward passes torch.autograd.gradcheck on case "
                           f"'{gc['case']}' (float64)")
    if gc.get("ok_float32") and computes_in_float32(ctx):
        return CheckResult("gradcheck", "pass", f"the custom backward passes torch.autograd.gradcheck on case "
                           f"'{gc['case']}' with float32's step and tolerances: the code computes in float32 "
                           "inside (and its gradients match the reference's at the dtype's tolerance)")
    return fail("gradcheck", f"the custom backward disagrees with finite differences on case '{gc['case']}' "
                f"(float64): {gc['message']}")
