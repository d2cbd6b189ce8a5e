"""bt: a kata of two entry points, so its spec composes.

`bt_loss` is a function and is graded by a `FunctionSpec` like every function kata (values,
stability, gradients, ...). `BTModel` is a class: the child builds it, sets its rewards to
the case's values, calls forward both ways and differentiates, and reports plain tensors;
the grader recomputes σ(r_c - r_r) and its gradient from the rewards the child reports.
The behaviour run trains the submission's BTModel with its bt_loss.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.toy import finite
from grader.checks.details import details as behaviour_details, series
from grader.core.compare import compare, fmt_num
from grader.core.kata import Kata, Mistake
from grader.core.results import CheckResult
from grader.core.tolerances import BT_COMPLEMENT_ATOL, BT_FORWARD_ATOL, BT_GAP_GROWTH
from grader.checks.function import FunctionSpec, Param, describe_error, describe_type
from grader.checks.cases import Case, generator
from grader.checks.judge import error_text, suggest_next_step

MODEL_CHECKS = ("reward_parameter", "forward_values", "forward_complement", "reward_gradient")
CLASS = "BTModel"


# ---------------------------------------------------------------- bt_loss cases
def loss_case(seed: int, salt: int, name: str, b: int, dtype: torch.dtype, label: str | float | None,
              extreme: bool = False) -> Case:
    """Rewards of a plausible reward model (N(0, 2)), or gaps of hundreds when `extreme`.

    label: None (the default, 1.0), a float, 'binary' ([B] of 0 and 1) or 'soft' ([B] in [0, 1]).
    """
    g = generator(seed, salt)
    rr = 2 * torch.randn(b, generator=g, dtype=torch.float64)
    if extreme:
        # Alternate the sign of the gap, so that with label 1 every other pair is badly mis-ordered.
        sign = torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64)
        rc = rr + sign * (100 + 300 * torch.rand(b, generator=g, dtype=torch.float64))
    else:
        rc = 2 * torch.randn(b, generator=g, dtype=torch.float64)
    options: dict[str, Any] = {}
    what = "label=1.0 (default)"
    if isinstance(label, float):
        options["label"], what = label, f"label={label:g}"
    elif label == "binary":
        options["label"] = (torch.arange(b) % 3 != 1).to(dtype)  # 1, 0, 1, 1, 0, ...
        what = "[B] labels of 0 and 1"
    elif label == "soft":
        options["label"] = torch.rand(b, generator=g, dtype=torch.float64).to(dtype)
        what = "[B] soft labels"
    elif label == "mixed":
        options["label"] = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.5, 0.3][:b], dtype=dtype)
        what = "[B] labels 1, 1, 0, 0, 0.5, 0.3"
    note = f"B={b}, {str(dtype)[6:]}, {what}" + (", reward gaps of hundreds" if extreme else "")
    return Case(name, {"reward_chosen": rc.to(dtype), "reward_rejected": rr.to(dtype)}, options,
                extreme=extreme, scale=10.0 if extreme else 1.0, note=note)


def loss_cases(seed: int) -> list[Case]:
    return [
        loss_case(seed, 1, "basic", 6, torch.float32, None),
        loss_case(seed, 2, "float64, soft float label", 4, torch.float64, 0.7),
        loss_case(seed, 3, "B=1, label 0", 1, torch.float32, 0.0),
        loss_case(seed, 4, "per-pair labels", 5, torch.float64, "binary"),
        loss_case(seed, 5, "per-pair soft labels", 4, torch.float32, "soft"),
        loss_case(seed, 6, "gaps of hundreds, float32", 6, torch.float32, "mixed", extreme=True),
        loss_case(seed, 7, "gaps of hundreds, float64", 6, torch.float64, None, extreme=True),
    ]


# ---------------------------------------------------------------- BTModel cases
def model_case(seed: int, salt: int, name: str, n: int, b: int, spread: str) -> Case:
    """Item ids (with repeats, and an item against itself) and rewards for the grader to set.

    spread: 'normal' (N(0, 2)) or 'hundreds' (±100 to ±900: past exp's overflow in float32 and float64).
    """
    g = generator(seed, salt)
    chosen = torch.randint(0, n, (b,), generator=g)
    rejected = torch.randint(0, n, (b,), generator=g)
    rejected[0] = chosen[0]  # forward(i, i) = 0.5
    if spread == "hundreds":
        sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
        reward = sign * (100 + 800 * torch.rand(n, generator=g, dtype=torch.float64))
    else:
        reward = 2 * torch.randn(n, generator=g, dtype=torch.float64)
    upstream = torch.randn(b, generator=g, dtype=torch.float64)
    extreme = spread == "hundreds"
    note = f"{n} items, B={b}" + (", rewards in the hundreds" if extreme else "")
    return Case(name, {"chosen_ids": chosen, "rejected_ids": rejected, "reward": reward.float()},
                {"n_items": n}, extreme=extreme, upstream=upstream, note=note)


def model_cases(seed: int) -> list[Case]:
    return [
        model_case(seed, 11, "model: 4 items", 4, 6, "normal"),
        model_case(seed, 12, "model: 10 items", 10, 16, "normal"),
        model_case(seed, 13, "model: rewards in the hundreds", 5, 10, "hundreds"),
    ]


def is_model_case(case: Case) -> bool:
    return "chosen_ids" in case.inputs


# ---------------------------------------------------------------- mistake models
def _bce(d: torch.Tensor, label: Any, log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    y = torch.as_tensor(label, dtype=d.dtype)
    return -(y * log_p + (1 - y) * log_q).mean()


def _clamped(rc, rr, label=1.0):
    d = rc - rr
    p = torch.sigmoid(d)
    out = []
    for eps in (1e-7, 1e-8, 1e-6, 1e-5, 1e-10, 1e-12, 1e-15):
        q = p.clamp(eps, 1 - eps)
        out.append({"loss": _bce(d, label, torch.log(q), torch.log(1 - q))})
        out.append({"loss": _bce(d, label, torch.log(p + eps), torch.log(1 - p + eps))})
    y = torch.as_tensor(label, dtype=d.dtype).expand_as(d)
    out.append({"loss": F.binary_cross_entropy(p, y)})  # clamps each log at -100
    return out


def _log_sigmoid(rc, rr, label=1.0):
    d = rc - rr
    p = torch.sigmoid(d)
    return [{"loss": _bce(d, label, torch.log(p), torch.log(1 - p))},
            {"loss": _bce(d, label, torch.log(p), torch.log(torch.sigmoid(-d)))}]


LOSS_MODELS: dict[str, Callable[..., Any]] = {
    "clamped probabilities in the loss": _clamped,
    "log(sigmoid(x)) instead of logsigmoid": _log_sigmoid,
    "label ignored": lambda rc, rr, label=1.0: {"loss": -F.logsigmoid(rc - rr).mean()},
}


def _exp_form(r: torch.Tensor, c: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    r = r.float()  # where the submission's float32 parameter overflows
    return torch.exp(r[c]) / (torch.exp(r[c]) + torch.exp(r[j]))


# P(chosen ≻ rejected) as each mistake computes it, from the rewards the child reported.
FORWARD_MODELS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "forward returns logits, not a probability": lambda r, c, j: r[c] - r[j],
    "forward returns P(rejected ≻ chosen)": lambda r, c, j: torch.sigmoid(r[j] - r[c]),
    "exp(r_c) / (exp(r_c) + exp(r_r)) overflows": _exp_form,
}


# ---------------------------------------------------------------- child side: BTModel
def probe_model(cls: Any, cases: list[Case]) -> dict[str, Any]:
    """Build BTModel for each case, set its rewards, call forward both ways and differentiate."""
    runs = []
    for case in cases:
        run: dict[str, Any] = {}
        runs.append(run)
        n = int(case.options["n_items"])
        try:
            model = cls(n)
        except NotImplementedError as exc:
            return {"not_started": describe_error(exc)}
        except Exception as exc:
            run["error"] = describe_error(exc)
            continue
        reward = getattr(model, "reward", None)
        params = list(model.named_parameters())
        run["parameters"] = [[name, list(p.shape)] for name, p in params]
        run["reward_type"] = describe_type(reward) if reward is not None else None
        run["is_parameter"] = isinstance(reward, torch.nn.Parameter)
        run["registered"] = any(p is reward for _, p in params)
        try:
            with torch.no_grad():
                reward.copy_(case.inputs["reward"])
            run["reward"] = reward.detach().to("cpu").clone()
        except Exception as exc:
            run["set_error"] = describe_error(exc)
            continue
        c, j = case.inputs["chosen_ids"].clone(), case.inputs["rejected_ids"].clone()
        try:
            p = model(c, j)
            run["forward_type"] = describe_type(p)
            run["p"] = p.detach().to("cpu").clone() if isinstance(p, torch.Tensor) else None
            p_rev = model(j.clone(), c.clone())
            run["p_rev"] = p_rev.detach().to("cpu").clone() if isinstance(p_rev, torch.Tensor) else None
        except Exception as exc:
            run["forward_error"] = describe_error(exc)
            continue
        if case.extreme:
            continue
        try:
            target = (p * case.upstream.to(p.dtype)).sum()
            (grad,) = torch.autograd.grad(target, [reward], allow_unused=True)
            run["grad"] = grad.detach().to("cpu").clone() if grad is not None else None
        except Exception as exc:
            run["grad_error"] = describe_error(exc)
    return {"runs": runs}


# ---------------------------------------------------------------- grader side: BTModel checks
def _expected_p(run: dict[str, Any], case: Case) -> torch.Tensor:
    r = run["reward"].to(torch.float64).reshape(-1)  # a misshapen reward is reward_parameter's to report
    return torch.sigmoid(r[case.inputs["chosen_ids"]] - r[case.inputs["rejected_ids"]])


def _setup_problem(name: str, run: dict[str, Any], case: Case) -> CheckResult | None:
    """An error result when BTModel could not be built, given rewards, or called on this case."""
    n = case.options["n_items"]
    if "error" in run:
        return CheckResult(name, "error", f"{CLASS}({n}) {error_text(run['error'])}")
    if "set_error" in run:
        return CheckResult(name, "error", f"the grader could not set {CLASS}({n}).reward to its values "
                           f"(reward.copy_(values) {error_text(run['set_error'])}); see reward_parameter")
    if "forward_error" in run:
        return CheckResult(name, "error", f"case {case.describe()}: forward {error_text(run['forward_error'])}")
    return None


def check_reward_parameter(model: dict[str, Any], cases: list[Case], mistakes: tuple[Mistake, ...]) -> CheckResult:
    mistake = next((m for m in mistakes if m.check == "reward_parameter"), None)
    checked = []
    for run, case in zip(model["runs"], cases):
        n = case.options["n_items"]
        if "error" in run:
            return CheckResult("reward_parameter", "error", f"{CLASS}({n}) {error_text(run['error'])}")
        listed = ", ".join(f"{name} {shape}" for name, shape in run["parameters"]) or "nothing"
        t = run["reward_type"]
        if t is None:
            return CheckResult("reward_parameter", "fail", f"{CLASS}({n}) has no attribute 'reward' "
                               f"(model.parameters() lists {listed}); the contract names it `reward`.")
        if not (run["is_parameter"] and run["registered"]):
            return CheckResult("reward_parameter", "fail", f"{CLASS}({n}).reward is a {t['type']}, not an "
                               f"nn.Parameter: model.parameters() lists {listed}. This is the known mistake "
                               f"'{mistake.name}': {mistake.advice}", mistake=mistake.name)
        if t["shape"] != [n]:
            return CheckResult("reward_parameter", "fail", f"{CLASS}({n}).reward has shape {t['shape']}, "
                               f"expected [n_items] = [{n}]: one reward per item.")
        checked.append(n)
    return CheckResult("reward_parameter", "pass", f"{CLASS}(n).reward is an nn.Parameter of shape [n] "
                       f"(n = {', '.join(map(str, checked))})")


def _diagnose_forward(model: dict[str, Any], cases: list[Case], mistakes: tuple[Mistake, ...]) -> Mistake | None:
    """The catalogued forward mistake whose model gives the submission's output on every case."""
    for mistake in mistakes:
        fn = FORWARD_MODELS.get(mistake.name)
        if fn is None or mistake.check != "forward_values":
            continue
        if all(_reproduces(fn, run, case) for run, case in zip(model["runs"], cases)):
            return mistake
    return None


def _reproduces(fn: Callable, run: dict[str, Any], case: Case) -> bool:
    p = run.get("p")
    if p is None or "reward" not in run or not p.is_floating_point():
        return False
    try:
        with torch.no_grad():
            want = fn(run["reward"].reshape(-1), case.inputs["chosen_ids"], case.inputs["rejected_ids"])
    except Exception:  # a reward of the wrong shape: nothing to reproduce
        return False
    return compare(p, want.to(p.dtype)).ok


def check_forward_values(model: dict[str, Any], cases: list[Case], mistakes: tuple[Mistake, ...]) -> CheckResult:
    for run, case in zip(model["runs"], cases):
        problem = _setup_problem("forward_values", run, case)
        if problem:
            return problem
        b = case.inputs["chosen_ids"].shape[0]
        t = run["forward_type"]
        if not t["tensor"]:
            return CheckResult("forward_values", "fail", f"case {case.describe()}: forward returned a {t['type']}, "
                               f"expected a [{b}] tensor of probabilities.")
        if t["shape"] != [b] or not run["p"].is_floating_point():
            return CheckResult("forward_values", "fail", f"case {case.describe()}: forward returned "
                               f"{t['shape']} {t['dtype']}, expected [{b}] float: one probability per pair "
                               "(index `reward` with each id tensor; no unsqueeze, no sum).")
        cmp = compare(run["p"], _expected_p(run, case).to(run["p"].dtype))
        if not cmp.ok:
            mistake = _diagnose_forward(model, cases, mistakes)
            msg = f"case {case.describe()}: " + cmp.explain("forward(chosen_ids, rejected_ids)") + \
                ", against σ(r_c - r_r) from the rewards your model holds."
            if mistake:
                msg += f" This is the known mistake '{mistake.name}': {mistake.advice}"
            return CheckResult("forward_values", "fail", msg, mistake=mistake.name if mistake else None)
    return CheckResult("forward_values", "pass", f"forward matches σ(r_c - r_r) on {len(cases)} cases, "
                       "rewards up to ±900 included")


def check_forward_complement(model: dict[str, Any], cases: list[Case]) -> CheckResult:
    pairs = 0
    for run, case in zip(model["runs"], cases):
        problem = _setup_problem("forward_complement", run, case)
        if problem:
            return problem
        p, p_rev = run["p"], run["p_rev"]
        if p is None or p_rev is None or p.shape != p_rev.shape or not p.is_floating_point():
            return CheckResult("forward_complement", "fail", f"case {case.describe()}: forward did not return "
                               "float tensors of one shape both ways (see forward_values).")
        cmp = compare(p + p_rev, torch.ones_like(p))
        if not cmp.ok:
            return CheckResult("forward_complement", "fail", f"case {case.describe()}: "
                               + cmp.explain("forward(i, j) + forward(j, i)")
                               + ". P(i ≻ j) and P(j ≻ i) are the two outcomes of one comparison and must sum to 1.")
        pairs += p.numel()
    return CheckResult("forward_complement", "pass", f"forward(i, j) + forward(j, i) = 1 on all {pairs} pairs")


def check_reward_gradient(model: dict[str, Any], cases: list[Case]) -> CheckResult:
    checked = 0
    for run, case in zip(model["runs"], cases):
        if case.extreme:
            continue
        problem = _setup_problem("reward_gradient", run, case)
        if problem:
            return problem
        if "grad_error" in run or run.get("grad") is None:
            why = error_text(run["grad_error"]) if "grad_error" in run else "gave None"
            return CheckResult("reward_gradient", "fail", f"case {case.describe()}: no gradient reaches "
                               f"{CLASS}.reward (autograd.grad(forward(...), reward) {why}). forward must compute "
                               "from self.reward itself: no .detach(), .data, .item() or torch.tensor(...) on the way.")
        p = _expected_p(run, case)
        u = case.upstream * p * (1 - p)  # d(sum u·σ(d))/dd
        want = torch.zeros(case.options["n_items"], dtype=torch.float64)
        want.index_add_(0, case.inputs["chosen_ids"], u)
        want.index_add_(0, case.inputs["rejected_ids"], -u)
        grad = run["grad"]
        cmp = compare(grad, want.to(grad.dtype if grad.is_floating_point() else torch.float32))
        if not cmp.ok:
            return CheckResult("reward_gradient", "fail", f"case {case.describe()}: "
                               + cmp.explain("d forward / d reward") + ", against σ'(r_c - r_r) scattered to the "
                               "chosen (+) and rejected (-) ids.")
        checked += 1
    return CheckResult("reward_gradient", "pass", f"the gradient reaching reward matches σ'(r_c - r_r) on {checked} cases")


# ---------------------------------------------------------------- behaviour
class BTBehaviour:
    """The seeds' experiment: BTModel(4) trained on 0≻1, 2≻3, 1≻3 with the submission's bt_loss."""

    pairs = ((0, 1), (2, 3), (1, 3))
    n_items = 4
    epochs, lr = 300, 1.0
    checkpoints = (30, 100, 300)

    def run(self, module: Any, seed: int) -> dict[str, Any]:
        model = getattr(module, CLASS)(self.n_items)
        params = list(model.parameters())
        if not params:
            return {"no_parameters": True}
        chosen = torch.tensor([c for c, _ in self.pairs])
        rejected = torch.tensor([r for _, r in self.pairs])
        rewards = []
        for _ in range(self.epochs):
            r = model.reward
            loss = module.bt_loss(r[chosen], r[rejected], 1.0)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    if g is not None:
                        p -= self.lr * g
            rewards.append([float(x) for x in model.reward.detach().reshape(-1)])
        ii = torch.tensor([i for i in range(self.n_items) for j in range(self.n_items) if i != j])
        jj = torch.tensor([j for i in range(self.n_items) for j in range(self.n_items) if i != j])
        with torch.no_grad():
            p = model(ii, jj)
        return {"rewards": rewards, "i": ii.tolist(), "j": jj.tolist(), "p": [float(x) for x in p.reshape(-1)]}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        if data.get("no_parameters"):
            return CheckResult("behaviour", "fail", f"{CLASS}({self.n_items}).parameters() is empty: gradient "
                               "descent has nothing to update (see reward_parameter).")
        rewards = data["rewards"]
        flat = [x for r in rewards for x in r]
        if not finite(flat) or not finite(data["p"]):
            return CheckResult("behaviour", "fail", "training produced NaN or inf rewards or probabilities.")
        r = rewards[-1]
        gaps = [x[0] - x[3] for x in rewards]
        at = [gaps[e - 1] for e in self.checkpoints]
        problems = []
        details = behaviour_details(
            [series("r0 - r3", gaps, x="epoch"),
             series("P(0 ≻ 1)", [1 / (1 + math.exp(-(x[0] - x[1]))) for x in rewards], x="epoch")],
            rewards_final=[round(x, 6) for x in r], **{f"gap_r0_r3_epoch_{e}": g for e, g in zip(self.checkpoints, at)})
        if not (r[0] > r[1] > r[3] and r[2] > r[3]):
            problems.append(f"the rewards should order r0 > r1 > r3 and r2 > r3, got r = {_fmt(r)}")
        if not all(b - a > BT_GAP_GROWTH for a, b in zip(at, at[1:])):
            problems.append("the gap r0 - r3 should keep growing on separable data, got "
                            + " / ".join(f"{g:.3f}" for g in at))
        p = dict(zip(zip(data["i"], data["j"]), data["p"]))
        worst_sum = max(abs(p[(i, j)] + p[(j, i)] - 1) for (i, j) in p)
        worst_val = max(abs(v - 1 / (1 + math.exp(-(r[i] - r[j])))) for (i, j), v in p.items())
        details["judged"].update(forward_complement_worst=worst_sum, forward_value_worst=worst_val)
        if worst_sum > BT_COMPLEMENT_ATOL:
            problems.append(f"forward(i, j) + forward(j, i) is off 1 by up to {fmt_num(worst_sum)}")
        if worst_val > BT_FORWARD_ATOL:
            problems.append(f"forward(i, j) is off σ(r_i - r_j) by up to {fmt_num(worst_val)} after training")
        summary = (f"trained on 0≻1, 2≻3, 1≻3 (label 1, full-batch gradient descent, lr {self.lr:g}): after "
                   f"{self.epochs} epochs r = {_fmt(r)}; the gap r0 - r3 is "
                   + " / ".join(f"{g:.2f}" for g in at) + " after " + " / ".join(map(str, self.checkpoints))
                   + f" epochs; forward(0, 3) = {p[(0, 3)]:.5f}, and forward(i, j) + forward(j, i) - 1 is at most "
                   f"{fmt_num(worst_sum)} over all {len(p) // 2} pairs.")
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=details)
        return CheckResult("behaviour", "pass", summary + " Comparisons that never contradict each other have "
                           "no finite maximum-likelihood rewards: the gap grows with every epoch (about as the log of "
                           "their number), so a reward model trained this way over-fits; stop early or regularise "
                           "(weight decay, a prior on r).", details=details)


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def _unstarted(names: list[str] | tuple[str, ...], why: str, part: str) -> list[CheckResult]:
    """One part of the kata not written yet: its first check says so, the others are skipped."""
    return [CheckResult(name, "error" if i == 0 else "skip", why if i == 0 else f"waits for {part}")
            for i, name in enumerate(names)]


# ---------------------------------------------------------------- the composed spec
@dataclasses.dataclass
class BTSpec:
    loss: FunctionSpec
    behaviour: BTBehaviour

    @property
    def models(self) -> dict[str, Any]:
        return {**self.loss.models, **FORWARD_MODELS}

    def make_cases(self, seed: int) -> list[Case]:
        return loss_cases(seed) + model_cases(seed)

    @staticmethod
    def split(cases: list[Case]) -> tuple[list[Case], list[Case]]:
        return [c for c in cases if not is_model_case(c)], [c for c in cases if is_model_case(c)]

    # ------------------------------------------------------------ child side
    def probe(self, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
        loss_cases_, model_cases_ = self.split(cases)
        cls = getattr(module, CLASS, None)
        has_fn = callable(getattr(module, self.loss.function, None))
        if not isinstance(cls, type) and not has_fn:
            return {"fatal": {"kind": "missing", "message": f"defines neither class '{CLASS}' nor function "
                              f"'{self.loss.function}'"}}
        loss = self.loss.probe(module, loss_cases_, seed, cuda)
        model = probe_model(cls, model_cases_) if isinstance(cls, type) else \
            {"missing": f"defines no class '{CLASS}'"}
        loss_not_started = loss.get("fatal", {}).get("kind") in ("not_started", "missing")
        model_not_started = "not_started" in model or "missing" in model
        if loss_not_started and model_not_started:
            return {"fatal": {"kind": "not_started", "message": "BTModel and bt_loss still raise NotImplementedError"}}
        result: dict[str, Any] = {"loss": loss, "model": model}
        if not loss_not_started and not model_not_started:
            try:
                result["behaviour"] = {"data": self.behaviour.run(module, seed)}
            except Exception as exc:
                result["behaviour"] = {"error": describe_error(exc)}
        return result

    # ------------------------------------------------------------ grader side
    def expected(self, reference: Any, cases: list[Case]) -> list[dict[str, Any]]:
        return self.loss.expected(reference, self.split(cases)[0])

    def judge(self, reference: Any, cases: list[Case], cand: dict[str, Any], kata: Kata,
              expected: list[dict[str, Any]] | None = None) -> list[CheckResult]:
        loss_cases_, model_cases_ = self.split(cases)
        results: dict[str, CheckResult] = {}
        loss_names = [c for c in kata.check_names if c not in MODEL_CHECKS and c != "behaviour"]
        loss = cand["loss"]
        if "fatal" in loss:
            why = f"{self.loss.function} still raises NotImplementedError" if loss["fatal"]["kind"] == "not_started" \
                else f"{kata.filename} {loss['fatal']['message']}"
            results.update((r.name, r) for r in _unstarted(loss_names, why, self.loss.function))
        else:
            loss_kata = dataclasses.replace(kata, checks=tuple(c for c in kata.checks if c.name in loss_names))
            extra = {} if expected is None else {"expected": expected}
            for r in self.loss.judge(reference, loss_cases_, loss, loss_kata, **extra):
                results[r.name] = r
        results.update(zip(MODEL_CHECKS + ("behaviour",),
                           self.judge_model(cand["model"], model_cases_, cand.get("behaviour"), kata)))
        return [results[name] for name in kata.check_names]

    def judge_model(self, model: dict[str, Any], cases: list[Case], behaviour: dict[str, Any] | None,
                    kata: Kata) -> list[CheckResult]:
        if "not_started" in model or "missing" in model:
            why = f"{CLASS} still raises NotImplementedError" if "not_started" in model else \
                f"{kata.filename} {model['missing']}"
            out = _unstarted(MODEL_CHECKS, why, CLASS)
        else:
            out = [check_reward_parameter(model, cases, kata.mistakes),
                   check_forward_values(model, cases, kata.mistakes),
                   check_forward_complement(model, cases),
                   check_reward_gradient(model, cases)]
        if behaviour is None:
            out.append(CheckResult("behaviour", "skip", f"needs both {CLASS} and bt_loss"))
        elif "error" in behaviour:
            out.append(CheckResult("behaviour", "error", f"training {CLASS} with your bt_loss, it "
                                   f"{error_text(behaviour['error'])}"))
        else:
            out.append(self.behaviour.judge(behaviour["data"]))
        return suggest_next_step(out, f"kata hint {kata.name}")


SPEC = BTSpec(
    loss=FunctionSpec(
        function="bt_loss",
        params=(Param("reward_chosen"), Param("reward_rejected"), Param("label", 1.0)),
        outputs=("loss",),
        grad_inputs=("reward_chosen", "reward_rejected"),
        make_cases=loss_cases,
        loss="loss",
        models=LOSS_MODELS,
        row_case=3,  # per-pair labels, sliced with their rows
    ),
    behaviour=BTBehaviour(),
)
