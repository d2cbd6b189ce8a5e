"""kl_penalty: a fixed battery of cases, seeded cases, the mistakes' models, the advisory k3
accuracy check, and the behaviour run (exact expectations over a vocabulary of 32).

Every case draws log-probs and the log-ratio d = ref_logps - logps separately, both log-probs
<= 0 (they are log-probs of sampled tokens), so that the range of d is what the contract
states: |d| <= 2.5 in the value cases (k3 stays below 10, so a k3 clamped at 10 shows only
where it should, in the stability cases), |d| up to 20 with log-probs down to -200 in the
stability cases, and 1e-5 <= |d| < 1e-3 in the float32 case the advisory `k3_precision`
check reads.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.catalog.kl_penalty.behaviour import EstimatorBehaviour
from grader.checks.cases import Case, generator, on_grid
from grader.checks.conventions import Conventions, Knob
from grader.checks.details import details
from grader.checks.function import FunctionSpec, Param
from grader.core.results import CheckResult
from grader.core.tolerances import K3_PRECISION_MAX_REL, K3_PRECISION_RANGE

NAMES = ("logps", "ref_logps")
PRECISION_CASE = "k3 at small |d|, float32"


def _note(b: int, t: int, dtype: torch.dtype, options: dict[str, Any], remark: str) -> str:
    kind = options.get("kind", "default k3")
    return f"B={b}, T={t}, {str(dtype)[6:]}, kind={kind}" + (f"; {remark}" if remark else "")


def _case(seed: int, salt: int, name: str, logps: torch.Tensor, d: torch.Tensor, dtype: torch.dtype,
          options: dict[str, Any], extreme: bool = False, scale: float = 1.0, remark: str = "") -> Case:
    """logps and d in float64, cast once: the case's d is exactly ref_logps - logps in `dtype`."""
    g = generator(seed, salt + 500)
    b, t = logps.shape
    # Log-probs of sampled tokens: a positive one is no probability, and the grader's own case
    # would be wrong (an implementation may rely on it, e.g. through probabilities in float64).
    assert bool((logps <= 0).all() and (logps + d <= 0).all()), f"case {name!r}: a log-prob above 0"
    inputs = {"logps": logps.to(dtype), "ref_logps": (logps + d).to(dtype)}
    upstream = torch.randn(b, t, generator=g, dtype=torch.float64).to(dtype)
    return Case(name, inputs, options, extreme=extreme, scale=scale, upstream=upstream,
                note=_note(b, t, dtype, options, remark))


def _typical(seed: int, salt: int, b: int, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs of sampled tokens (within a few nats of 0) and log-ratios |d| <= 2.5, both
    log-probs <= 0: where d > 0 the policy's log-prob is lowered by d, so that ref_logps =
    logps + d stays a log-prob (down to -5.5) while d keeps its range."""
    g = generator(seed, salt)
    logps = -3 * torch.rand(b, t, generator=g, dtype=torch.float64)
    d = (0.8 * torch.randn(b, t, generator=g, dtype=torch.float64)).clamp(-2.5, 2.5)
    return logps - d.clamp(min=0), d


def typical_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                 options: dict[str, Any], remark: str = "") -> Case:
    return _case(seed, salt, name, *_typical(seed, salt, b, t), dtype, options, remark=remark)


def zeros_case(seed: int, salt: int, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """d exactly 0 on every other token, and log-probs exactly 0 (a certain token) on some."""
    logps, d = _typical(seed, salt, 3, 6)
    d[:, ::2] = 0.0
    logps[0, :3] = 0.0
    d[0, 1] = -1.0  # a certain token under π, less likely under π_ref
    return _case(seed, salt, f"exact zeros, {options['kind']}", logps, d, dtype, options,
                 remark="d = 0 on every other token, log-probs of exactly 0")


def layout_case(seed: int, salt: int, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """Non-contiguous inputs: logps a slice of a wider tensor (what a shift gives), ref_logps a
    transposed view."""
    b, t = 3, 7
    logps, d = _typical(seed, salt, b, t)
    case = _case(seed, salt, "non-contiguous", logps, d, dtype, options,
                 remark="logps = x[:, :-1] of a wider x, ref_logps a transposed view")
    case.layout.update(logps="sliced", ref_logps="transposed")
    return case


def expanded_case(seed: int, salt: int, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """ref_logps expanded from one row to the batch (stride 0): the same reference scores."""
    b, t = 4, 5
    drawn, d = _typical(seed, salt, b, t)
    # Each row's policy log-probs are the reference row minus that row's d, so every row keeps
    # |d| <= 2.5 (k3 below 10), and the row sits 2.5 below 0 so that logps = row - d is <= 0 too.
    row = drawn[:1] - 2.5  # [1, T]
    logps = row - d  # [B, T]
    ref = row.to(dtype)
    case = _case(seed, salt, "expanded", logps, d, dtype, options, remark="ref_logps = row.expand(B, T)")
    case.inputs["ref_logps"] = ref.expand(b, t).clone()
    case.layout["ref_logps"] = "expanded"
    return case


def precision_case(seed: int, salt: int) -> Case:
    """float32, default kind, 1e-5 <= |d| < 1e-3 (log-uniform, both signs): what `k3_precision` reads."""
    g = generator(seed, salt)
    b, t = 4, 32
    lo, hi = K3_PRECISION_RANGE
    logps = -(0.5 + 2.5 * torch.rand(b, t, generator=g, dtype=torch.float64))
    mag = lo * (hi / lo) ** torch.rand(b, t, generator=g, dtype=torch.float64)
    sign = torch.where(torch.rand(b, t, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    d = (sign * mag).clamp(-hi * 0.999, hi * 0.999)
    return _case(seed, salt, PRECISION_CASE, logps, d, torch.float32, {},
                 remark=f"{lo:g} <= |d| < {hi:g}")


def extreme_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                 options: dict[str, Any]) -> Case:
    """|d| up to 20 (both ends reached) with log-probs from -20 down to -200: e^logps underflows
    in float32, so any form that goes through probabilities divides 0 by 0."""
    g = generator(seed, salt)
    logps = -(20 + 160 * torch.rand(b, t, generator=g, dtype=torch.float64))  # [-180, -20]
    d = 40 * torch.rand(b, t, generator=g, dtype=torch.float64) - 20  # [-20, 20]
    d[0, 0], d[0, 1], d[0, 2] = 20.0, -20.0, 10 / 256
    logps[0, 0], logps[0, 1] = -20.0, -180.0  # ref_logps 0 and -200: the range's two ends
    # and a small d near -200, where squares of the log-probs round in float32: a formula that
    # cancels them, (a² - 2ab + b²)/2, is off by about 1e-3 where k2 is 8e-4
    logps[0, 2] = -(199 + 187 / 256)
    # On a grid of 2^-8, so that float32 holds every input exactly: near -200 float32 rounds a
    # log-prob by up to 8e-6, which moves e^d by 1.5e-5 relative, beyond float64's tolerance, and
    # an implementation that computes in float32 inside would be blamed for its inputs' rounding.
    logps, d = on_grid(logps, 256), on_grid(d, 256)
    # Both inputs on the grid, d = ref_logps - logps is exact in float32 too: the tolerance
    # need not grow with the log-probs' size, and k at small |d| is held to the usual one
    # (an estimator that cancels large terms, (a² - 2ab + b²)/2 for k2, is off by 1e-3 here).
    return _case(seed, salt, name, logps, d, dtype, options, extreme=True, scale=1.0,
                 remark="|d| up to 20, log-probs down to -200")


def small_d_case(seed: int, salt: int) -> Case:
    """k3 in float64 at 1e-3 <= |d| <= 3e-2 (log-uniform, both signs): where a series cut after
    d²/2 is off by d³/6 in value and d²/2 in gradient, more than float64's tolerance."""
    g = generator(seed, salt)
    b, t = 3, 16
    logps = -(0.5 + 2.5 * torch.rand(b, t, generator=g, dtype=torch.float64))
    mag = 1e-3 * 30 ** torch.rand(b, t, generator=g, dtype=torch.float64)
    mag[0, 0] = 3e-2  # the range's top at every seed
    sign = torch.where(torch.rand(b, t, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    return _case(seed, salt, "k3 at small |d|, float64", logps, sign * mag, torch.float64, {"kind": "k3"},
                 remark="1e-3 <= |d| <= 3e-2")


def make_cases(seed: int) -> list[Case]:
    f32, f64 = torch.float32, torch.float64
    return [
        # Seeded cases over every kind and dtype; case 0 is graded row by row.
        typical_case(seed, 1, "default kind", 4, 7, f32, {}),
        typical_case(seed, 2, "k1, float64", 3, 6, f64, {"kind": "k1"}),
        typical_case(seed, 3, "k2", 2, 5, f32, {"kind": "k2"}),
        typical_case(seed, 4, "k3, float64", 5, 9, f64, {"kind": "k3"}),
        typical_case(seed, 5, "k2, float64", 3, 4, f64, {"kind": "k2"}),
        typical_case(seed, 6, "k1", 2, 8, f32, {"kind": "k1"}),
        # The fixed battery: every seed, whatever the draw.
        typical_case(seed, 7, "B=1, T=1", 1, 1, f64, {"kind": "k3"}),
        typical_case(seed, 8, "B=1, T=1, k1", 1, 1, f32, {"kind": "k1"}),
        typical_case(seed, 9, "empty", 2, 0, f32, {}, remark="no token at all"),
        typical_case(seed, 20, "empty, float64", 2, 0, f64, {"kind": "k1"}, remark="no token at all"),
        typical_case(seed, 25, "empty, k2", 2, 0, f32, {"kind": "k2"}, remark="no token at all"),
        # d = 0 under every kind: k1's gradient there is ±1 (k2's and k3's are 0), so code that
        # writes a fresh 0 where logps == ref_logps (the first PPO step) shows only under k1.
        zeros_case(seed, 10, f32, {"kind": "k3"}),
        zeros_case(seed, 11, f64, {"kind": "k2"}),
        zeros_case(seed, 22, f32, {"kind": "k1"}),
        layout_case(seed, 12, f64, {"kind": "k3"}),
        layout_case(seed, 13, f32, {"kind": "k1"}),
        expanded_case(seed, 14, f32, {"kind": "k2"}),
        expanded_case(seed, 15, f64, {}),
        precision_case(seed, 16),
        extreme_case(seed, 17, "|d| to 20, log-probs to -200, float32", 3, 24, f32, {}),
        extreme_case(seed, 18, "|d| to 20, log-probs to -200, float32, k1", 2, 16, f32, {"kind": "k1"}),
        extreme_case(seed, 19, "|d| to 20, log-probs to -200, float32, k2", 2, 16, f32, {"kind": "k2"}),
        extreme_case(seed, 20, "|d| to 20, log-probs to -200, float64", 3, 24, f64, {"kind": "k3"}),
        small_d_case(seed, 21),
        # Past the usual chunk sizes (8 ... 256), where micro-batched or chunked code cuts off:
        # B = 257 is where `B // 256 or 1` micro-batches of 256 rows leave the last row out, and
        # its 1285 tokens reach a cache or buffer kept only for batches past 1024 tokens.
        typical_case(seed, 23, "B=33", 33, 4, f32, {"kind": "k2"}, remark="more rows than a chunk of 32"),
        typical_case(seed, 26, "B=257", 257, 5, f32, {"kind": "k3"}, remark="more rows than a micro-batch of 256"),
        typical_case(seed, 24, "T=300", 2, 300, f32, {"kind": "k1"}, remark="more tokens than a chunk of 256"),
    ]


def bad_inputs(seed: int) -> list[Case]:
    """Kinds the contract does not know: each must raise ValueError naming k1, k2 and k3."""
    logps, d = _typical(seed, 30, 2, 3)
    # a word it does not know, the right word in the wrong case, with space around it or a suffix
    # (a strip() or a prefix match would take them), and nothing
    # "k01" is k1 to int(); None is no kind at all.
    # verl's other names (its kl_penalty's aliases, and "+" for a k2 gradient straight through)
    # are what a port keeps: none of them is a kind here.
    # A prefix ("k") or a substring ("3") is what a startswith/`in` test takes. Every kind is
    # refused on [2, 0] inputs too: validation must not wait for data (an early return on empty
    # inputs).
    empty = torch.zeros(2, 0, dtype=logps.dtype)
    verl = ("k1+", "k2+", "k3+", "low_var_kl", "mse", "abs", "full")
    kinds = ("k4", "K3", " k3", "k3 ", "k1\n", "k3_low_var", "kl", "", "k", "3", "k01", None, *verl)
    return [Case(f"kind={kind!r}", {"logps": logps, "ref_logps": logps + d}, {"kind": kind}) for kind in kinds] + \
        [Case(f"kind={kind!r} on [2, 0] inputs", {"logps": empty, "ref_logps": empty.clone()}, {"kind": kind})
         for kind in kinds]


# ---------------------------------------------------------------- the contract's pieces
def estimate(d: torch.Tensor, kind: str) -> torch.Tensor:
    return {"k1": lambda: -d, "k2": lambda: 0.5 * d * d, "k3": lambda: torch.expm1(d) - d}[kind]()


# ---------------------------------------------------------------- mistake models
def _wrong_sign(logps, ref_logps, kind="k3"):
    """d = logps - ref_logps throughout, or only inside k3's exp (either sign of the linear term)."""
    d = ref_logps - logps
    flipped = estimate(-d, kind)
    inside = torch.exp(-d) - 1 - d if kind == "k3" else estimate(d, kind)
    both = torch.exp(-d) - 1 + d if kind == "k3" else estimate(d, kind)
    return [{"kl": flipped}, {"kl": inside}, {"kl": both}]


def _one_kind(kind_wrong: str, wrong: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., Any]:
    def model(logps, ref_logps, kind="k3"):
        d = ref_logps - logps
        return {"kl": wrong(d) if kind == kind_wrong else estimate(d, kind)}
    return model


def _clamped(logps, ref_logps, kind="k3"):
    """verl's "low_var_kl": d clamped to ±20, k3 clamped to ±10 (or only k3 clamped)."""
    d = ref_logps - logps
    if kind != "k3":
        return [{"kl": estimate(d, kind)}] * 2
    dc = d.clamp(-20, 20)
    return [{"kl": (torch.exp(dc) - dc - 1).clamp(-10, 10)}, {"kl": (torch.expm1(d) - d).clamp(max=10)}]


def _probability_ratio(logps, ref_logps, kind="k3"):
    """r = π_ref / π formed from probabilities: 0 / 0 once both underflow."""
    r = torch.exp(ref_logps) / torch.exp(logps)
    log_r = torch.log(r)
    d = ref_logps - logps
    forms = {"k1": [-log_r, -log_r], "k2": [0.5 * log_r ** 2, 0.5 * log_r ** 2], "k3": [r - 1 - log_r, r - 1 - d]}
    return [{"kl": k} for k in forms[kind]]


MODELS: dict[str, Callable[..., Any]] = {
    "d with the wrong sign": _wrong_sign,
    "k2 without the ½": _one_kind("k2", lambda d: d * d),
    "k3 as exp(d) − d (the −1 dropped)": _one_kind("k3", lambda d: torch.exp(d) - d),
    "k1 with the sign flipped": _one_kind("k1", lambda d: d),
    "k3 clamped (verl's low_var_kl)": _clamped,
    "log-ratio through probabilities": _probability_ratio,
}


# ---------------------------------------------------------------- advisory accuracy check
def check_k3_precision(ctx: Any) -> CheckResult:
    """k3's worst relative error on the float32 small-|d| case, against float64 (shown, never deciding)."""
    name = "k3_precision"
    i = next(j for j, c in enumerate(ctx.cases) if c.name == PRECISION_CASE)
    case, run = ctx.cases[i], ctx.runs[i]
    got = run["outputs"][0] if not run["error"] else None
    if not isinstance(got, torch.Tensor) or got.shape != case.inputs["logps"].shape:
        return CheckResult(name, "skip", f"no [B, T] output on case {case.describe()} (see values)", advisory=True)
    d = case.inputs["ref_logps"].double() - case.inputs["logps"].double()  # [B, T], exact
    want = torch.expm1(d) - d
    rel = (got.double() - want).abs() / want.abs()
    rel = torch.where(torch.isnan(rel), torch.full_like(rel, math.inf), rel)
    worst = int(rel.argmax())
    worst_rel, worst_d = float(rel.reshape(-1)[worst]), float(d.reshape(-1)[worst])
    lo, hi = K3_PRECISION_RANGE
    measured = (f"k3's worst relative error for {lo:g} <= |d| < {hi:g} in float32 is {worst_rel:.2g} "
                f"(at d = {worst_d:.3g}; median {float(rel.median()):.2g}; against float64)")
    if worst_rel <= K3_PRECISION_MAX_REL:
        return CheckResult(name, "pass", measured + ".", advisory=True,
                           details=details(worst_rel=worst_rel, median_rel=float(rel.median()), bound=K3_PRECISION_MAX_REL))
    return CheckResult(name, "fail", measured + f", above {K3_PRECISION_MAX_REL:g}. k3 ≈ d²/2 there, and "
                       "e^d - 1 - d cancels it away: e^d is rounded to 6e-8, k3 is 5e-11 at |d| = 1e-5. "
                       "torch.expm1(d) - d keeps the digits. Values within the contract's tolerance still pass.",
                       advisory=True,
                       details=details(worst_rel=worst_rel, median_rel=float(rel.median()), bound=K3_PRECISION_MAX_REL))


def check_bad_input(ctx: Any) -> CheckResult:
    """The shared bad_input check, and the contract's message: it names the three kinds."""
    from grader.checks.judge import check_bad_input as shared

    result = shared(ctx)
    if result.status != "pass":
        return result
    for p in ctx.cand.get("bad_inputs") or []:
        message = p.get("message") or ""
        if not all(k in message for k in ("k1", "k2", "k3")):
            return CheckResult("bad_input", "fail", f"input '{p['case']}' raises ValueError, but its message "
                               f"({message.splitlines()[0][:120] if message else 'empty'!r}) should name the three "
                               "kinds, k1, k2 and k3, so that the caller sees what to pass instead.")
    return result


# ---------------------------------------------------------------- conventions (grader.checks.conventions)
def _formula(k, logps, ref_logps, kind="k3"):
    """The three estimators; each knob `k[name]` picks one convention of d, k1, k2 or k3."""
    d = ref_logps - logps if k["d"] == "ref - logps" else logps - ref_logps  # [B, T]
    if kind == "k1":
        kl = {"-d": lambda: -d, "d": lambda: d, "|d|": lambda: d.abs()}[k["k1"]]()
    elif kind == "k2":
        kl = {"½d²": lambda: 0.5 * d * d, "d²": lambda: d * d, "½(r-1)²": lambda: 0.5 * torch.expm1(d) ** 2}[k["k2"]]()
    else:
        kl = {"e^d-1-d": lambda: torch.expm1(d) - d, "e^d-d": lambda: torch.exp(d) - d,
              "e^-d-1-d": lambda: torch.expm1(-d) - d, "e^-d-1+d": lambda: torch.expm1(-d) + d,
              "e^d-1+d": lambda: torch.expm1(d) + d, "negated": lambda: d - torch.expm1(d)}[k["k3"]]()
    return {"kl": kl}


_SIGN = "d with the wrong sign"
CONVENTIONS = Conventions(_formula, (
    Knob("d", "ref - logps", {"logps - ref": _SIGN}),
    Knob("k1", "-d", {"d": "k1 with the sign flipped", "|d|": "k1 as |d| (made non-negative)"}),
    Knob("k2", "½d²", {"d²": "k2 without the ½", "½(r-1)²": "k2 as ½·(r - 1)² instead of ½·(log r)²"}),
    Knob("k3", "e^d-1-d", {"e^d-d": "k3 as exp(d) − d (the −1 dropped)", "e^-d-1-d": _SIGN, "e^-d-1+d": _SIGN,
                           "e^d-1+d": "k3 with + log r: e^d - 1 + d instead of e^d - 1 - d",
                           "negated": "k3 negated: d + 1 - e^d"}),
))


SPEC = FunctionSpec(
    function="kl_penalty",
    params=(Param("logps"), Param("ref_logps"), Param("kind", "k3")),
    outputs=("kl",),
    grad_inputs=NAMES,
    trained=("logps",),  # the reference model is frozen in training
    make_cases=make_cases,
    bad_inputs=bad_inputs,
    models=MODELS,
    behaviour=EstimatorBehaviour(),
    checks={"k3_precision": check_k3_precision, "bad_input": check_bad_input},
    conventions=CONVENTIONS,
)
