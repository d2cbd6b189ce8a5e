"""Naming what is wrong: catalogued mistakes' models, convention families, and generic findings.

Used by every check, function and class katas alike. In order of preference, a failing
output is explained by
1. a catalogued mistake whose model (`spec.models`) reproduces it on every case of the check;
2. a convention family (`spec.conventions`, see grader.checks.conventions): the kata's
   formula with one or two conventions changed, described in the catalogue's words, and
   named as a catalogued mistake when those words are one;
3. nothing: the check then points to the hint.
Generic findings that need no model (a NaN gradient where the value is finite, `.view` on a
non-contiguous input, a squeezed dimension, extra outputs) are worded here once; a spec maps
them to its catalogued mistakes with `findings={finding: mistake name}`.
"""
from __future__ import annotations

from typing import Any

import torch

from grader.core.compare import compare
from grader.core.tolerances import tolerance
from grader.core.kata import Mistake
from grader.checks.context import Context, named
from grader.checks.probe import call

FINDINGS = {
    "nan_gradient": "the value is right but its gradient is NaN or inf: a guard such as torch.where(cond, f(x), g(x)) "
                    "or torch.nan_to_num(...) still differentiates both branches, and the unused branch's inf "
                    "gradient times 0 is NaN. Use a formula that is stable everywhere (F.logsigmoid, "
                    "torch.log_softmax, log1p / expm1) instead of guarding an unstable one",
    "non_contiguous_view": "`.view(...)` raises on a non-contiguous input, which is what a shift such as "
                           "`logits[:, :-1]` produces: use `.reshape(...)` (or `.contiguous()` first)",
    "write_to_input": "the function writes in place into an input; an expanded (broadcast) input raises, and any "
                      "other is changed for the caller: compute on new tensors",
    "squeezed": "`.squeeze()` drops every dimension of size 1, the batch's too when B = 1 (or T = 1): squeeze the "
                "one dimension you mean (`.squeeze(-1)`)",
    "extra_outputs": "the function returns more values than the contract's; `a, b, c = f(...)` raises for every caller",
    "modified_in_place": "an input or option tensor was modified in place",
}
ERROR_FINDINGS = {  # a fragment of torch's error message -> the finding it shows
    "view size is not compatible with input tensor's size and stride": "non_contiguous_view",
    "more than one element of the written-to tensor refers to a single memory location": "write_to_input",
}


def diagnose(ctx: Context, check: str, indices: list[int]) -> Mistake | None:
    """The catalogued mistake whose model reproduces the submission's output on every case."""
    for mistake in ctx.mistakes:
        if mistake.check != check or mistake.name not in ctx.spec.models:
            continue
        if reproduces(ctx, mistake, indices):
            return mistake
    return None


def reproduces(ctx: Context, mistake: Mistake, indices: list[int]) -> bool:
    """True when one variant of the mistake's model gives the submission's output on every case
    (its gradients, for a mistake of the `gradients` check: see `model_gradients`).

    A model may return a list of dicts: the ways people commonly write the same mistake.
    A case where both the model and the submission raise counts as consistent.
    """
    spec = ctx.spec
    model = spec.models[mistake.name]
    if mistake.check == "gradients":
        per_case = [computed(ctx.cases[i], ("gradients", model), lambda case: model_gradients(spec, model, case))
                    for i in indices]
        observed = [None if ctx.runs[i]["error"] or ctx.runs[i]["backward_error"] else ctx.runs[i]["grads"]
                    for i in indices]
    else:
        per_case = [computed(ctx.cases[i], model, lambda case: call(model, case)) for i in indices]
        per_case = [out if out is None or isinstance(out, list) else [out] for out in per_case]
        observed = [None if ctx.runs[i]["error"] else dict(zip(spec.outputs, ctx.runs[i]["outputs"])) for i in indices]
    n_variants = max((len(v) for v in per_case if v is not None), default=0)
    for k in range(n_variants):
        matched, consistent = 0, True
        for i, variants, got in zip(indices, per_case, observed):
            if variants is None or got is None:
                consistent = (variants is None) == (got is None)
            elif k >= len(variants):  # this variant does not exist for this case's inputs
                consistent = False
            else:
                for name, expected in variants[k].items():
                    consistent = consistent and _same(got.get(name), expected, ctx.cases[i].scale,
                                                      unused_is_zero=mistake.check == "gradients")
                matched += 1
            if not consistent:
                break
        if consistent and matched:
            return True
    return False


def _same(got: Any, expected: Any, scale: float, unused_is_zero: bool) -> bool:
    """An observed output or gradient against a model's. With `unused_is_zero`, a gradient that
    does not reach an input (None) is the same as an all-zero one, as the gradients check has it."""
    if unused_is_zero and (expected is None or got is None):
        other = got if expected is None else expected
        return other is None or (isinstance(other, torch.Tensor) and not bool(other.any()))
    return compare(got, expected, scale).ok


def model_gradients(spec: Any, model: Any, case: Any) -> list[dict[str, Any]]:
    """The gradients of each variant of a `gradients` mistake's model, taken as the child takes a
    submission's (grader.checks.probe.run_case): the graph output differentiated (against the
    case's upstream gradient when it is not a loss) with respect to every grad input. Such a
    model returns its outputs with their graph; its values are usually the reference's."""
    from grader.checks.cases import laid_out

    inputs = {k: laid_out(case, k, v.detach().clone()) for k, v in case.inputs.items()}
    names = [n for n in spec.grad_inputs if n in inputs]
    for n in names:
        inputs[n].requires_grad_(True)
    with torch.enable_grad():
        out = call(model, case, inputs)
        grads = []
        for variant in out if isinstance(out, list) else [out]:
            target = variant[spec.graph_output]
            if spec.loss is None:
                target = (target * case.upstream.to(target.dtype)).sum()
            found = torch.autograd.grad(target, [inputs[n] for n in names], allow_unused=True, retain_graph=True)
            grads.append({n: (g.detach() if g is not None else None) for n, g in zip(names, found)})
    return grads


def computed(case: Any, key: Any, fn: Any) -> Any:
    """`fn(case)` without gradients (unless `fn` turns them on), or None where it raises;
    remembered on the case under `key` (a model, a convention's choices), since the grader's
    own functions give the same outputs for every submission judged against the case."""
    if key not in case.memo:
        try:
            with torch.no_grad():
                case.memo[key] = fn(case)
        except Exception:  # this model or convention cannot be computed on these inputs
            case.memo[key] = None
    return case.memo[key]


def close(got: Any, want: torch.Tensor, scale: float) -> bool:
    """`compare(got, want, scale).ok`, without building the explanation (the diagnosis asks often)."""
    if not (isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor)) or got.shape != want.shape:
        return False
    if not got.is_floating_point():
        return compare(got, want, scale).ok
    rtol, atol = tolerance(str(want.dtype), scale)
    g, w = got.detach().double(), want.detach().double()
    return bool((torch.isclose(g, w, rtol=rtol, atol=atol) | (g == w) | (torch.isnan(g) & torch.isnan(w))).all())


def differential(ctx: Context, check: str, indices: list[int]) -> tuple[Mistake | None, str]:
    """The convention family the submission's outputs match on every case: (the catalogued
    mistake it is, if any; its words). ("" when none matches or the spec declares none.)

    An output the submission gets right everywhere may stay as the reference has it (a loss
    taken as a mean while the rewards are right); every output it gets wrong must match the
    deviation on every case. Cases where it is wrong are tried first, so most deviations are
    ruled out on one case.
    """
    conv = getattr(ctx.spec, "conventions", None)
    idx = [i for i in indices if not ctx.runs[i]["error"]]
    if conv is None or not idx:
        return None, ""
    outputs = ctx.spec.outputs
    got = {i: dict(zip(outputs, ctx.runs[i]["outputs"])) for i in idx}
    ref = {i: dict(zip(outputs, ctx.ref_runs[i]["outputs"])) for i in idx}
    wrong = {i: {n for n in outputs if not close(got[i][n], ref[i][n], ctx.cases[i].scale)} for i in idx}
    right_everywhere = {n for n in outputs if not any(n in wrong[i] for i in idx)}
    order = sorted(idx, key=lambda i: (not wrong[i], sum(t.numel() for t in ctx.cases[i].inputs.values())))

    def formula(choices: dict[str, str], i: int) -> dict[str, torch.Tensor] | None:
        """None where the convention cannot be computed on these inputs (e.g. needs Tc == Tr)."""
        key = ("conventions", id(conv), tuple(sorted(choices.items())))  # conv lives as long as its spec
        return computed(ctx.cases[i], key, lambda case: call(lambda *a, **o: conv.formula(choices, *a, **o), case))

    def matches(choices: dict[str, str]) -> bool:
        for i in order:
            out = formula(choices, i)
            if out is None:
                return False
            for name, t in out.items():
                if not close(got[i][name], t, ctx.cases[i].scale):
                    if name not in right_everywhere:
                        return False
        return True

    # The family's formula must be the reference at the contract, else it could name right code.
    for i in order:
        out = formula(conv.contract, i)
        if out is None or not all(close(t, ref[i][n], ctx.cases[i].scale) for n, t in out.items()):
            return None, ""
    for choices, words in conv.deviations():
        if matches(choices):
            text = "; and ".join(words)
            mistake = ctx.mistake(text)
            return (mistake if mistake is not None and mistake.check == check else None), text
    return None, ""


def explain(ctx: Context, check: str, indices: list[int]) -> tuple[Mistake | None, str, dict[str, Any]]:
    """(catalogued mistake, sentence to append, details) for a failing output check."""
    mistake = diagnose(ctx, check, indices)
    if mistake is not None:
        return mistake, named(mistake), {}
    mistake, words = differential(ctx, check, indices)
    if mistake is not None:
        return mistake, named(mistake), {"diagnosis": words}
    if words:
        return None, f" The output matches the computation with {words}.", {"diagnosis": words}
    return None, "", {}


def finding(ctx: Context, key: str) -> tuple[Mistake | None, str, dict[str, Any]]:
    """A generic finding: the catalogued mistake the spec maps it to, or its generic words."""
    mistake = ctx.finding(key)
    if mistake is not None:
        return mistake, named(mistake), {"diagnosis": key}
    return None, f" Diagnosis: {FINDINGS[key]}.", {"diagnosis": key}


def error_finding(err: dict[str, Any]) -> str | None:
    return next((key for frag, key in ERROR_FINDINGS.items() if frag in (err.get("message") or "")), None)
