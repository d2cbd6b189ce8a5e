"""bt: a kata of two entry points, so its spec composes.

`bt_loss` is a function and is graded by a `FunctionSpec` like every function kata (values,
stability, gradients, ...). `BTModel` is a class (grader.catalog.bt.model): its checks have
the same `Context -> CheckResult` signature and use the same diagnosis helpers. The
behaviour run (grader.catalog.bt.behaviour) trains the submission's BTModel with its bt_loss.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.bt.behaviour import BEHAVIOUR_REPORT, BTBehaviour
from grader.catalog.bt.model import MODEL_CHECKS
from grader.catalog.bt.model_cases import CLASS, MODEL, is_model_case, model_cases  # noqa: F401
from grader.catalog.bt.model_probe import malformed, probe_model
from grader.core.kata import Kata
from grader.core.results import CheckResult
from grader.checks.cases import Case, generator, with_layout
from grader.catalog.pairs import LOGISTIC_BAND
from grader.checks import schema as _schema
from grader.checks.context import Context, error_text, errored, one_thread
from grader.checks.conventions import Conventions, Knob, batch_knob, over_batch, sign_knob
from grader.checks.function import FunctionSpec, Param
from grader.checks.judge import suggest_next_step
from grader.checks.probe import describe_error

GAP_RANGE = 1000.0  # the contract: bt_loss is exact for reward gaps up to 1000 (both ends reached)


# ---------------------------------------------------------------- bt_loss cases
def loss_case(seed: int, salt: int, name: str, b: int, dtype: torch.dtype, label: str | float | None,
              extreme: bool = False) -> Case:
    """Rewards of a plausible reward model (N(0, 2)), or gaps from 100 to GAP_RANGE when `extreme`.

    label: None (the default, 1.0), a float, 'binary' ([B] of 0 and 1), 'soft' ([B] in [0, 1]),
    'mixed' or 'equal' ([B] all 0.7: expandable).
    """
    g = generator(seed, salt)
    rr = 2 * torch.randn(b, generator=g, dtype=torch.float64)
    if extreme:
        # Alternate the sign of the gap, so that with label 1 every other pair is badly mis-ordered;
        # the first two pairs sit at the range's ends.
        sign = torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64)
        size = 100 + (GAP_RANGE - 100) * torch.rand(b, generator=g, dtype=torch.float64)
        size[:2] = GAP_RANGE
        rc = rr + sign * size
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
    elif label == "equal":
        options["label"] = torch.full((b,), 0.7, dtype=dtype)
        what = "[B] labels all 0.7"
    note = f"B={b}, {str(dtype)[6:]}, {what}" + (f", reward gaps up to {GAP_RANGE:g}" if extreme else "")
    return Case(name, {"reward_chosen": rc.to(dtype), "reward_rejected": rr.to(dtype)}, options,
                extreme=extreme, scale=10.0 if extreme else 1.0, note=note)


def _with_ties(case: Case) -> Case:
    """Pairs 0 and 1 tied exactly (a gap of 0: loss log 2 whatever the label), labelled 1 and 0:
    the exact gradient there is ∓1/(2B), and the ways of getting it wrong at a tie (1 - label,
    -label, 0) all differ from it and from each other."""
    for i in (0, 1):
        case.inputs["reward_chosen"][i] = case.inputs["reward_rejected"][i]
    assert case.options["label"][:2].tolist() == [1.0, 0.0]  # the grader's own case: binary labels 1, 0, ...
    case.note += ", pairs 0 and 1 tied (labels 1 and 0)"
    return case


def loss_cases(seed: int) -> list[Case]:
    return [
        loss_case(seed, 1, "basic", 6, torch.float32, None),
        loss_case(seed, 2, "float64, soft float label", 4, torch.float64, 0.7),
        loss_case(seed, 3, "B=1, label 0", 1, torch.float32, 0.0),
        loss_case(seed, 4, "per-pair labels", 5, torch.float64, "binary"),
        loss_case(seed, 5, "per-pair soft labels", 4, torch.float32, "soft"),
        # The fixed battery: ties, B=1 with a tensor label, strided rewards, an expanded label.
        _with_ties(loss_case(seed, 8, "tied pairs", 4, torch.float64, "binary")),
        loss_case(seed, 9, "B=1, [1] label", 1, torch.float64, "soft"),
        with_layout(loss_case(seed, 10, "", 5, torch.float32, "binary"), "non-contiguous rewards",
                    reward_chosen="sliced", reward_rejected="sliced"),
        with_layout(loss_case(seed, 11, "", 3, torch.float32, "equal"), "expanded label", label="expanded"),
        loss_case(seed, 6, "gaps up to 1000, float32", 6, torch.float32, "mixed", extreme=True),
        loss_case(seed, 7, "gaps up to 1000, float64", 6, torch.float64, None, extreme=True),
        loss_case(seed, 12, "gaps up to 1000, float64, [B] labels", 5, torch.float64, "binary", extreme=True),
        _in_logistic_band(loss_case(seed, 13, "gaps from 5.5 to 12 in size", 8, torch.float64, "soft")),
        loss_case(seed, 14, "B = 33", 33, torch.float32, "soft"),  # past micro-batches of 32 pairs
        # past micro-batches of up to 256 pairs (and float16 counts), cheap in float32
        loss_case(seed, 15, "B = 257", 257, torch.float32, "soft"),
        # basic's B and dtype with another float label: a label filled once per (shape, dtype) and kept
        # gives this case basic's label (or basic this one's)
        loss_case(seed, 16, "float label 0.3, basic's B and dtype", 6, torch.float32, 0.3),
    ]


def _in_logistic_band(case: Case) -> Case:
    """Pairs whose reward gaps are LOGISTIC_BAND (softplus(x, threshold=5) is off there)."""
    gaps = torch.tensor(LOGISTIC_BAND, dtype=torch.float64).to(case.inputs["reward_rejected"].dtype)
    case.inputs["reward_chosen"] = case.inputs["reward_rejected"] + gaps
    return case


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


def _softplus_by_hand(rc, rr, label=1.0):
    """The stable form max(d, 0) - d·y + log1p(exp(-|d|)), whose value is right everywhere;
    autograd takes |d|'s slope at 0 as 0 and clamp's as 1 (relu's, where's as 0), so at a tie
    the gradient is 1 - y or -y where the reference's is 1/2 - y. (torch.maximum(d, 0) splits
    the tie in two and so is right: a variant, not this mistake.)"""
    d = rc - rr
    y = torch.as_tensor(label, dtype=d.dtype)
    tail = torch.log1p(torch.exp(-d.abs()))
    return [{"loss": (d.clamp(min=0) - d * y + tail).mean()}, {"loss": (torch.relu(d) - d * y + tail).mean()}]


LOSS_MODELS: dict[str, Callable[..., Any]] = {
    "clamped probabilities in the loss": _clamped,
    "log(sigmoid(x)) instead of logsigmoid": _log_sigmoid,
    "max(d, 0) + log1p(exp(-|d|)) by hand: wrong gradient at a tie": _softplus_by_hand,
    "label ignored": lambda rc, rr, label=1.0: {"loss": -F.logsigmoid(rc - rr).mean()},
}


def _formula(k: dict[str, str], rc, rr, label=1.0):
    d = rc - rr
    if k["gap"] == "-":
        d = -d
    y = torch.as_tensor(label, dtype=d.dtype)
    if k["label"] == "swapped":
        y = 1 - y
    per_pair = -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)) if k["label"] != "ignored" else -F.logsigmoid(d)
    return {"loss": over_batch(per_pair, k["batch"])}


CONVENTIONS = Conventions(_formula, (
    Knob("label", "weighted", {"ignored": "label ignored",
                               "swapped": "label and 1 - label swapped (label weighting log σ(-d))"}),
    sign_knob("gap", "the gap reversed (r_r - r_c)"),
    batch_knob("loss summed over the pairs instead of averaged"),
))


# ---------------------------------------------------------------- the composed spec
def _unstarted(names: list[str] | tuple[str, ...], why: str, part: str) -> list[CheckResult]:
    """One part of the kata not written yet: its first check says so, the others are skipped."""
    return [CheckResult(name, "error" if i == 0 else "skip", why if i == 0 else f"waits for {part}")
            for i, name in enumerate(names)]


@dataclasses.dataclass
class BTSpec:
    """Implements grader.checks.spec.Spec by composing the bt_loss FunctionSpec and BTModel's part."""

    loss: FunctionSpec
    behaviour: BTBehaviour

    @property
    def models(self) -> dict[str, Any]:
        return {**self.loss.models, **MODEL.models}

    # BTModel's checks do not depend on bt_loss's signature: they run when it fails.
    contract_independent = tuple(MODEL_CHECKS)

    @property
    def checks(self) -> dict[str, Any]:
        """BTModel's checks: checks of this kata alone, by name (as FunctionSpec.checks)."""
        return dict(MODEL_CHECKS)

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

    def malformed(self, cases: list[Case], result: dict[str, Any]) -> str:
        loss_cases_, model_cases_ = self.split(cases)
        loss, model = result.get("loss"), result.get("model")
        if not isinstance(loss, dict) or not isinstance(model, dict):
            return "no bt_loss or BTModel report"
        return ("" if "fatal" in loss else self.loss.malformed(loss_cases_, loss)) or malformed(model_cases_, model) \
            or (_schema.problem(result["behaviour"], BEHAVIOUR_REPORT, "the behaviour run") if "behaviour" in result else "")

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
        results.update(zip(list(MODEL_CHECKS) + ["behaviour"],
                           self.judge_model(cand["model"], model_cases_, cand.get("behaviour"), kata)))
        return [results[name] for name in kata.check_names]

    def judge_model(self, model: dict[str, Any], cases: list[Case], behaviour: dict[str, Any] | None,
                    kata: Kata) -> list[CheckResult]:
        hint = f"kata hint {kata.name}"
        if "not_started" in model or "missing" in model:
            why = f"{CLASS} still raises NotImplementedError" if "not_started" in model else \
                f"{kata.filename} {model['missing']}"
            out = _unstarted(list(MODEL_CHECKS), why, CLASS)
        else:
            with one_thread():
                ctx = Context(MODEL, cases, None, model, kata.mistakes, hint, ref_runs=[])
                out = [check(ctx) for check in MODEL_CHECKS.values()]
        if behaviour is None:
            out.append(CheckResult("behaviour", "skip", f"needs both {CLASS} and bt_loss"))
        elif "error" in behaviour:
            out.append(errored("behaviour", f"training {CLASS} with your bt_loss, it {error_text(behaviour['error'])}",
                               behaviour["error"]))
        else:
            out.append(self.behaviour.judge(behaviour["data"]))
        return suggest_next_step(out, hint)


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
        conventions=CONVENTIONS,
    ),
    behaviour=BTBehaviour(),
)
