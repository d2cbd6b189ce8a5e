"""bt's class side: BTModel's checks in the grader (its cases and mistake models are in
grader.catalog.bt.model_cases, its probe in the child is grader.catalog.bt.model_probe).

The child builds BTModel, sets its rewards to the case's values, calls forward both ways and
differentiates, then changes the rewards in place as an optimiser step does and calls forward
again, and reports plain tensors; the grader recomputes σ(r_c - r_r) and its gradient from the
rewards the child reports. The checks have the signature of every other check
(`Context -> CheckResult`) and name mistakes with the shared helpers of grader.checks.diagnose:
`MODEL.models` are the catalogued forward mistakes, `MODEL.findings` map generic findings
(a squeezed batch, a NaN gradient) to the catalogue's names.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import torch

from grader.core.compare import compare
from grader.core.results import CheckResult
from grader.checks.cases import Case
from grader.checks.context import Context, error_text, errored, fail, mistake_at, named
from grader.checks.diagnose import diagnose, finding
from grader.checks.spec import Param
from grader.core.frames import frames_of
from grader.core.tolerances import BT_PROBABILITY_ATOL, tolerance
from grader.checks.structure import squeezed
from grader.checks.signature import check_signature
from grader.catalog.bt.model_cases import CLASS, MODES, REWARD_RANGE

# ---------------------------------------------------------------- grader side: checks
def _expected_p(run: dict[str, Any], case: Case, rewards: str = "reward") -> torch.Tensor:
    """σ(r_c - r_r) in float64 from the rewards the child reported (`reward_after`: after the step)."""
    r = run[rewards].to(torch.float64).reshape(-1)  # a misshapen reward is reward_parameter's to report
    return torch.sigmoid(r[case.inputs["chosen_ids"]] - r[case.inputs["rejected_ids"]])


def _probability_problem(p: torch.Tensor, want: torch.Tensor) -> str:
    """Where forward is further than BT_PROBABILITY_ATOL from a probability near 0 or near 1 (the
    dtype's tolerances, 1e-5 absolute and 1e-4 relative in float32, would let a clamp into
    [1e-6, 1 - 1e-5] through): the relative part is taken of the nearer end, min(P, 1 - P)."""
    rtol, _ = tolerance(str(p.dtype))
    off = (p.double() - want).abs() > BT_PROBABILITY_ATOL + rtol * torch.minimum(want.abs(), (1 - want).abs())
    if not bool(off.any()):
        return ""
    i = int(off.nonzero()[0, 0])
    return (f"forward(chosen_ids, rejected_ids)[{i}] is {float(p[i]):.9g} where σ(r_c - r_r) = {float(want[i]):.9g} "
            f"({int(off.sum())} of {off.numel()} pairs off by more than {BT_PROBABILITY_ATOL:g} near 0 or 1). forward "
            "returns σ(r_c - r_r) itself: no clamping into [ε, 1 - ε], which gives a badly mis-ordered pair the "
            "probability ε (a confidently ordered one 1 - ε), so that a caller's log P is log ε instead of about "
            "r_c - r_r, with no gradient")


def _setup_problem(name: str, run: dict[str, Any], case: Case) -> CheckResult | None:
    """An error result when BTModel could not be built, given rewards, or called on this case."""
    n = case.options["n_items"]
    if "build_error" in run:
        return errored(name, f"{CLASS}(n_items={n}) {error_text(run['build_error'])}", run["build_error"])
    if "set_error" in run:
        return errored(name, f"the grader could not set {CLASS}({n}).reward to its values "
                       f"(reward.copy_(values) {error_text(run['set_error'])}); see reward_parameter", run["set_error"])
    if "forward_error" in run:
        return errored(name, f"case {case.describe()}: forward, called as model(chosen_ids=..., rejected_ids=...) "
                       "(the contract's names) and model(rejected_ids, chosen_ids), "
                       f"{error_text(run['forward_error'])}", run["forward_error"])
    return None


# The contract's names, binding: callers write BTModel(n_items=n) and model(chosen_ids=c, rejected_ids=r).
INIT_PARAMS, FORWARD_PARAMS = ("n_items",), ("chosen_ids", "rejected_ids")


def _signature_problem(ctx: Context, check: str, which: str, function: str, params: tuple[str, ...]) -> CheckResult | None:
    """A failure when `which` ('init' or 'forward') is not declared as `function(params)`, judged
    by the shared signature check (a signature that cannot be inspected is let through, as there)."""
    stand_in = SimpleNamespace(spec=SimpleNamespace(function=function, params=tuple(Param(p) for p in params)),
                               cand={"signature": ctx.cand["signatures"][which]})
    result = check_signature(stand_in)
    if result.status != "fail":
        return None
    return fail(check, f"{result.message[:-1]}. The contract's parameter names are binding: callers pass them "
                f"by name ({function}({', '.join(f'{p}=...' for p in params)})).")


def check_reward_parameter(ctx: Context) -> CheckResult:
    wrong = _signature_problem(ctx, "reward_parameter", "init", CLASS, INIT_PARAMS)
    if wrong:
        return wrong
    checked = []
    for run, case in zip(ctx.runs, ctx.cases):
        n = case.options["n_items"]
        if "build_error" in run:
            return errored("reward_parameter", f"{CLASS}(n_items={n}) {error_text(run['build_error'])}",
                           run["build_error"])
        listed = ", ".join(f"{name} {shape}" for name, shape in run["parameters"]) or "nothing"
        t = run["reward_type"]
        if t is None:
            return fail("reward_parameter", f"{CLASS}({n}) has no attribute 'reward' "
                        f"(model.parameters() lists {listed}); the contract names it `reward`.")
        if not (run["is_parameter"] and run["registered"]):
            mistake = mistake_at(ctx, "reward_parameter")
            return fail("reward_parameter", f"{CLASS}({n}).reward is a {t['type']}, not an nn.Parameter: "
                        f"model.parameters() lists {listed}." + named(mistake), mistake)
        if t["shape"] != [n]:
            return fail("reward_parameter", f"{CLASS}({n}).reward has shape {t['shape']}, "
                        f"expected [n_items] = [{n}]: one reward per item.")
        if [name for name, _ in run["parameters"]] != ["reward"]:
            return fail("reward_parameter", f"{CLASS}({n}).parameters() lists {listed}; the contract's model has "
                        "one parameter, `reward`. Another learnable tensor (a temperature, a bias) is trained by "
                        "any loss built on forward, and then forward is no longer σ(r_c - r_r).")
        if case.inputs["reward"].dtype == torch.float32 and t["dtype"] != "float32":
            return fail("reward_parameter", f"{CLASS}({n}).reward is {t['dtype']} in a new model; it starts "
                        "float32, as every nn.Module's parameters do (a caller who wants float64 calls "
                        "model.double()), so that forward's probabilities mix with the rest of a float32 model.")
        checked.append(n)
    return CheckResult("reward_parameter", "pass", f"{CLASS}(n_items) holds one nn.Parameter, reward, float32 "
                       f"of shape [n_items] (n_items = {', '.join(map(str, checked))})")


def check_forward_values(ctx: Context) -> CheckResult:
    wrong = _signature_problem(ctx, "forward_values", "forward", f"{CLASS}.forward", FORWARD_PARAMS)
    if wrong:
        return wrong
    for run, case in zip(ctx.runs, ctx.cases):
        problem = _setup_problem("forward_values", run, case)
        if problem:
            return problem
        where = f"case {case.describe()}"
        wrong = _forward_problem(ctx, where, case, run["forward_type"], run["p"], run["reward"], _expected_p(run, case),
                                 diagnosed=True)
        if wrong:
            return wrong
    for run, case in zip(ctx.runs, ctx.cases):  # the same models, as a caller evaluates them
        wrong = _ids_problem(run, case) or _reward_moved_problem(run, case) or _modes_problem(ctx, run, case)
        if wrong:
            return wrong
    for run, case in zip(ctx.runs, ctx.cases):  # the same models called again after an optimiser-like step
        after = _after_step_problem(ctx, run, case) or _modes_problem(ctx, run, case, after_step=True)
        if after:
            return after
    return CheckResult("forward_values", "pass", f"forward matches σ(r_c - r_r) in the reward's dtype on "
                       f"{len(ctx.cases)} cases, B=1, float64 and rewards up to ±{REWARD_RANGE:g} included, "
                       f"{', '.join(where for where, _, _ in MODES)}, and again after the rewards change in place "
                       "(in each mode); it leaves its id tensors and its reward as they were")


def _forward_problem(ctx: Context, where: str, case: Case, t: dict[str, Any], p: torch.Tensor | None,
                     reward: torch.Tensor, want: torch.Tensor, diagnosed: bool = False,
                     advice: str = "") -> CheckResult | None:
    """A failure when forward's result is not [B] σ(r_c - r_r) (`want`, float64) in the reward's dtype.
    `diagnosed`: name the catalogued mistake it matches; `advice`: what to do instead, when it is off."""
    wrong = _forward_type_problem(ctx, where, case, t, p, reward)
    if wrong:
        return wrong
    cmp = compare(p, want.to(p.dtype))
    if not cmp.ok:
        mistake = diagnose(ctx, "forward_values", list(range(len(ctx.cases)))) if diagnosed else None
        return fail("forward_values", f"{where}: " + cmp.explain("forward(chosen_ids, rejected_ids)")
                    + ", against σ(r_c - r_r) from the rewards your model holds." + advice + named(mistake), mistake)
    near_zero = _probability_problem(p, want)
    return fail("forward_values", f"{where}: {near_zero}.") if near_zero else None


def _ids_problem(run: dict[str, Any], case: Case) -> CheckResult | None:
    """A failure when forward modified the id tensors it was given."""
    if not run["ids_changed"]:
        return None
    names = " and ".join(f"'{n}'" for n in run["ids_changed"][:2])
    return fail("forward_values", f"case {case.describe()}: forward modified {names} in place: the caller's id "
                "tensors came back changed. A caller uses them again (the labels that go with each pair, the "
                "reversed call forward(rejected_ids, chosen_ids), logging): work on new tensors (torch.where, "
                "torch.minimum, ...), never .copy_, .masked_fill_ or index assignment on an input.")


def _reward_moved_problem(run: dict[str, Any], case: Case) -> CheckResult | None:
    """A failure when a call of forward changed (or replaced) the reward parameter."""
    if not run["reward_changed"]:
        return None
    return fail("forward_values", f"case {case.describe()}: {run['reward_changed'][0]} changed the model's `reward` "
                "(in place, or by replacing it). forward leaves its parameter as it is, even where P would not "
                "change (BT is shift-invariant): the optimiser's state, an EMA copy, other replicas and the logged "
                "rewards all refer to the parameter as the last step left it. Normalise in a training step, "
                "never in forward.")


def _modes_problem(ctx: Context, run: dict[str, Any], case: Case, after_step: bool = False) -> CheckResult | None:
    """A failure when forward, under torch.no_grad() or after model.eval(), is not σ(r_c - r_r)
    (`after_step`: of the rewards after the in-place step)."""
    rewards = "reward_after" if after_step else "reward"
    for (how, _, _), mode in zip(MODES, run.get("modes_after" if after_step else "modes") or ()):
        where = f"case {case.describe()}, {how}" + (", after the rewards changed in place" if after_step else "")
        if "error" in mode:
            return errored("forward_values", f"{where}: forward {error_text(mode['error'])}", mode["error"])
        wrong = _forward_problem(ctx, where, case, mode["type"], mode["p"], run[rewards],
                                 _expected_p(run, case, rewards),
                                 advice=" Evaluation (metrics, calibration, serving) calls forward under "
                                 "torch.no_grad() and after model.eval(), between training steps: forward is the "
                                 "same σ(r_c - r_r) of the rewards it holds now, with no branch on "
                                 "torch.is_grad_enabled() or self.training and no table kept from an earlier call.")
        if wrong:
            return wrong
    return None


def _forward_type_problem(ctx: Context, where: str, case: Case, t: dict[str, Any], p: torch.Tensor | None,
                          reward: torch.Tensor) -> CheckResult | None:
    """A failure when forward did not return [B] probabilities in the reward parameter's dtype."""
    b = case.inputs["chosen_ids"].shape[0]
    if not t["tensor"]:
        return fail("forward_values", f"{where}: forward returned a {t['type']}, "
                    f"expected a [{b}] tensor of probabilities.")
    if t["shape"] != [b] or not p.is_floating_point():
        mistake, said, details = finding(ctx, "squeezed") if squeezed(t["shape"], [b]) else (None, "", {})
        return fail("forward_values", f"{where}: forward returned {t['shape']} {t['dtype']}, "
                    f"expected [{b}] float: one probability per pair (index `reward` with each id tensor; "
                    "no unsqueeze, no sum)." + said, mistake, **details)
    if p.dtype != reward.dtype:
        want = str(reward.dtype).replace("torch.", "")
        return fail("forward_values", f"{where}: forward returned {t['dtype']} for a {want} `reward`: "
                    f"P(chosen ≻ rejected) comes in the reward parameter's dtype ({want}), as a module's output "
                    "follows its parameters' (no .double() or .float() inside, no constant of another dtype).")
    return None


def _after_step_problem(ctx: Context, run: dict[str, Any], case: Case) -> CheckResult | None:
    """A failure when forward, called after the rewards changed in place, is not σ of the new rewards."""
    where = (f"case {case.describe()}, after the grader changed the rewards in place (reward.add_(step) under "
             "torch.no_grad(), as an optimiser step does) and called forward again")
    if "after_error" in run:
        return errored("forward_values", f"{where}: it {error_text(run['after_error'])}", run["after_error"])
    return _forward_problem(ctx, where, case, run["after_type"], run["p_after"], run["reward_after"],
                            _expected_p(run, case, "reward_after"),
                            advice=" forward must read self.reward at every call: probabilities computed once and "
                            "kept (a table, a cache) go stale at the first optimiser step.")


def check_forward_complement(ctx: Context) -> CheckResult:
    pairs = 0
    for run, case in zip(ctx.runs, ctx.cases):
        problem = _setup_problem("forward_complement", run, case)
        if problem:
            return problem
        p, p_rev = run["p"], run["p_rev"]
        if p is None or p_rev is None or p.shape != p_rev.shape or not p.is_floating_point():
            return fail("forward_complement", f"case {case.describe()}: forward did not return "
                        "float tensors of one shape both ways (see forward_values).")
        cmp = compare(p + p_rev, torch.ones_like(p))
        if not cmp.ok:
            return fail("forward_complement", f"case {case.describe()}: " + cmp.explain("forward(i, j) + forward(j, i)")
                        + ". P(i ≻ j) and P(j ≻ i) are the two outcomes of one comparison and must sum to 1.")
        pairs += p.numel()
    return CheckResult("forward_complement", "pass", f"forward(i, j) + forward(j, i) = 1 on all {pairs} pairs")


def check_reward_gradient(ctx: Context) -> CheckResult:
    """On every case, rewards of ±900 included: σ' is finite (and tiny) there, so must the gradient be;
    and again after the model was evaluated (eval(), then train()) and stepped."""
    checked = 0
    for run, case in zip(ctx.runs, ctx.cases):
        problem = _setup_problem("reward_gradient", run, case)
        if problem:
            return problem
        wrong = _gradient_problem(ctx, case, run.get("grad_error"), run.get("grad"), _expected_p(run, case),
                                  f"case {case.describe()}", values=run["p"])
        if wrong:
            return wrong
        checked += 1
    for run, case in zip(ctx.runs, ctx.cases):  # trained again after an evaluation and a step
        if "grad_after" not in run:
            continue  # the step itself failed: forward_values reports it
        where = f"case {case.describe()}, after model.eval(), model.train() and a step of the rewards"
        if not run["requires_grad_after"]:
            return fail("reward_gradient", f"{where}: reward.requires_grad is False, so training stops after the "
                        "first evaluation. model.eval() and model.train() only switch the module's mode; they "
                        "must leave the parameter trainable (freeze nothing in train(False), or unfreeze it in "
                        "train(True)).")
        wrong = _gradient_problem(ctx, case, run["grad_after_error"], run["grad_after"],
                                  _expected_p(run, case, "reward_after"), where)
        if wrong:
            return wrong
    return CheckResult("reward_gradient", "pass", f"the gradient reaching reward matches σ'(r_c - r_r) on {checked} "
                       f"cases, rewards up to ±{REWARD_RANGE:g} included, and again after the model was "
                       "evaluated (eval(), then train()) and its rewards stepped")


def _gradient_problem(ctx: Context, case: Case, error: Any, grad: Any, p: torch.Tensor, where: str,
                      values: torch.Tensor | None = None) -> CheckResult | None:
    """A failure when `grad` (or the `error` taking it) is not the gradient of sum(upstream · σ(r_c - r_r))
    w.r.t. reward, for the probabilities `p` (float64); `values`: forward's own, to tell a NaN guard."""
    if error is not None or grad is None:
        why = error_text(error) if error is not None else "gave None"
        out = fail("reward_gradient", f"{where}: no gradient reaches {CLASS}.reward "
                   f"(autograd.grad(forward(...), reward) {why}). forward must compute from self.reward itself: "
                   "no .detach(), .data, .item() or torch.tensor(...) on the way.")
        out.traceback = frames_of(error)
        return out
    u = case.upstream * p * (1 - p)  # d(sum u·σ(d))/dd
    want = torch.zeros(case.options["n_items"], dtype=torch.float64)
    want.index_add_(0, case.inputs["chosen_ids"], u)
    want.index_add_(0, case.inputs["rejected_ids"], -u)
    cmp = compare(grad, want.to(grad.dtype if grad.is_floating_point() else torch.float32))
    if cmp.ok:
        return None
    msg = f"{where}: " + cmp.explain("d forward / d reward") + \
        ", against σ'(r_c - r_r) scattered to the chosen (+) and rejected (-) ids."
    values_right = values is not None and compare(values, p.to(values.dtype)).ok
    if values_right and grad.is_floating_point() and not bool(torch.isfinite(grad).all()):
        mistake, said, details = finding(ctx, "nan_gradient")
        return fail("reward_gradient", msg + said, mistake, **details)
    return fail("reward_gradient", msg)


MODEL_CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "reward_parameter": check_reward_parameter,
    "forward_values": check_forward_values,
    "forward_complement": check_forward_complement,
    "reward_gradient": check_reward_gradient,
}
