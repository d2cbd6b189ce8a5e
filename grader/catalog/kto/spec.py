"""kto: seeded cases, the catalogued mistakes' models, and the behaviour run.

Every seed runs the same battery (all desirable, all undesirable, 0/1 integer labels in every
width with float32 and float64 inputs, K ≠ B, r = z0 exactly, r - z0 = ±100, a negative mean
KL so that z0 clamps to 0, on mixed labels and on each single label, unequal weights on mixed
labels, equal weights other than 1, weights at the ends of their range, β = 0.01 and 1, B = 1,
33 and 257, K = 65 and 300, |r - z0| up to 1e4 with KL log-probs of thousands of nats) with
seeded values, plus seeded random shapes.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.kto.behaviour import KTOBehaviour
from grader.catalog.kto.conventions import CONVENTIONS
from grader.checks.cases import Case, generator, on_grid, with_layout
from grader.checks.function import FunctionSpec, Param

F64, F32 = torch.float64, torch.float32
NAMES = ("policy_logps", "ref_logps", "kl_policy_logps", "kl_ref_logps", "desirable")


def _case(name: str, policy: torch.Tensor, ref: torch.Tensor, kl_policy: torch.Tensor, kl_ref: torch.Tensor,
          desirable: torch.Tensor, options: dict[str, Any], note: str, dtype: torch.dtype,
          extreme: bool = False, scale: float = 1.0) -> Case:
    inputs = dict(zip(NAMES, (policy.to(dtype), ref.to(dtype), kl_policy.to(dtype), kl_ref.to(dtype), desirable)))
    opts = "".join(f", {k}={v}" for k, v in options.items())
    labels = "bool" if desirable.dtype == torch.bool else "0/1 int"
    return Case(name, inputs, options, extreme=extreme, scale=scale,
                note=f"B={policy.shape[0]}, K={kl_policy.shape[0]}, {str(dtype)[6:]}, {labels} labels{opts}, {note}")


def _logps(g: torch.Generator, n: int, spread: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence log-probs of a policy and a reference a few nats apart (float64)."""
    policy = -(5 + 40 * torch.rand(n, generator=g, dtype=F64))
    ref = policy - spread * 4 * torch.randn(n, generator=g, dtype=F64)
    return policy, ref


def _kl(g: torch.Generator, k: int, mean: float, depth: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """K mismatched pairs whose log-ratios average about `mean` (exactly that sign), their
    log-probs in [-50·depth, -10·depth] (depth 400: long completions, thousands of nats)."""
    kl_ref = -depth * (10 + 40 * torch.rand(k, generator=g, dtype=F64))
    gaps = mean + 0.3 * abs(mean) * (2 * torch.rand(k, generator=g, dtype=F64) - 1)
    return kl_ref + gaps, kl_ref


def _labels(g: torch.Generator, b: int, kind: str = "mixed") -> torch.Tensor:
    if kind in ("all", "none"):
        return torch.full((b,), kind == "all", dtype=torch.bool)
    labels = torch.rand(b, generator=g) < 0.5
    labels[0], labels[-1] = True, False  # both kinds, whatever the draw
    return labels


def int_width(case: Case, name: str, kind: str) -> Case:
    """`case`, named `name`, with its integer labels passed as `kind` ("int32", "int8", "uint8")."""
    return with_layout(case, name, desirable=kind)


def _seeded(seed: int, salt: int, name: str) -> Case:
    g = generator(seed, salt)
    b, k = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(1, 9, (1,), generator=g))
    dtype = (F32, F64)[int(torch.randint(0, 2, (1,), generator=g))]
    beta = float(torch.tensor([0.05, 0.1, 0.3, 1.0])[int(torch.randint(0, 4, (1,), generator=g))])
    policy, ref = _logps(g, b, spread=2.0)
    kl_policy, kl_ref = _kl(g, k, float(3 * torch.randn(1, generator=g, dtype=F64)))
    options = {"beta": beta, "desirable_weight": round(0.5 + float(torch.rand(1, generator=g)), 3),
               "undesirable_weight": round(0.5 + float(torch.rand(1, generator=g)), 3)}
    return _case(name, policy, ref, kl_policy, kl_ref, _labels(g, b), options, "seeded shape", dtype)


def make_cases(seed: int) -> list[Case]:
    g = lambda salt: generator(seed, salt)
    cases = []
    r = g(1)
    cases.append(_case("mixed labels, unequal weights", *_logps(r, 6), *_kl(r, 4, 1.5), _labels(r, 6).long(),
                       {"beta": 0.2, "desirable_weight": 1.33, "undesirable_weight": 0.7}, "z0 > 0", F32))
    r = g(2)
    cases.append(_case("all desirable", *_logps(r, 4), *_kl(r, 3, 2.0), _labels(r, 4, "all"), {"desirable_weight": 1.4},
                       "z0 > 0", F64))
    r = g(3)
    cases.append(_case("all undesirable", *_logps(r, 3), *_kl(r, 5, 1.0), _labels(r, 3, "none"),
                       {"beta": 0.5, "undesirable_weight": 1.5}, "z0 > 0", F32))
    r = g(4)
    # Integer labels in every width (the statement's "integers" are any width), each on mixed
    # labels with float32 and float64 inputs: int64 here and in the first case, int32 (the same
    # case, at the end, and B = 33), int16, int8 and uint8 in the cases that name them.
    integers = _case("desirable as 0/1 integers", *_logps(r, 5), *_kl(r, 5, 0.8), _labels(r, 5).long(),
                     {"undesirable_weight": 2.0}, "z0 > 0", F64)
    cases.append(integers)
    r = g(5)
    cases.append(int_width(_case("K > B", *_logps(r, 3), *_kl(r, 7, 2.5), _labels(r, 3).long(), {"beta": 0.3},
                                 "z0 > 0", F32), "K > B", "int8"))
    r = g(6)
    cases.append(int_width(_case("mean KL negative: z0 clamps to 0", *_logps(r, 5), *_kl(r, 4, -2.0),
                                 _labels(r, 5).long(), {"beta": 0.1, "desirable_weight": 0.8}, "z0 = 0", F64),
                           "mean KL negative: z0 clamps to 0", "uint8"))
    # r = z0 exactly: every number below is exact in binary, so each loss is exactly half its weight.
    r = g(7)
    kl_ref = torch.tensor([-10.25, -3.5, -7.0, -1.0], dtype=F64)
    ref = torch.tensor([-21.0, -8.0, -13.5], dtype=F64)
    cases.append(_case("r = z0 exactly", ref + 0.5, ref, kl_ref + 0.5, kl_ref, torch.tensor([True, False, True]),
                       {"desirable_weight": 1.5, "undesirable_weight": 0.5}, "losses are half the weights", F32))
    # r - z0 = ±100 at β = 0.1: β·(r - z0) = ±10, where KTO's gradient has all but vanished.
    ref = torch.tensor([-30.0, -250.0, -40.0, -20.0], dtype=F64)
    gap = torch.tensor([100.0, -100.0, -100.0, 100.0], dtype=F64)
    kl_ref = torch.tensor([-12.0, -20.0], dtype=F64)
    cases.append(_case("r - z0 = ±100", ref + 1.0 + gap, ref, kl_ref + 1.0, kl_ref,
                       torch.tensor([True, True, False, False]), {"beta": 0.1, "undesirable_weight": 1.25},
                       "z0 = 1, β·(r - z0) = ±10", F64))
    r = g(9)
    cases.append(_case("B = 1", *_logps(r, 1), *_kl(r, 2, 0.7), _labels(r, 1, "all"), {"beta": 1.0}, "z0 > 0", F32))
    cases.append(_seeded(seed, 10, "seeded 1"))
    cases.append(_seeded(seed, 11, "seeded 2"))
    # Row by row, z0 must not change: every mismatched pair has the same log-ratio (and K = B).
    r = g(12)
    policy, ref = _logps(r, 5)
    kl_ref = -(10 + 40 * torch.rand(5, generator=r, dtype=F64))
    cases.append(_case("rows alone", policy, ref, kl_ref + 0.75, kl_ref, _labels(r, 5),
                       {"desirable_weight": 1.2, "undesirable_weight": 0.9}, "every KL pair's log-ratio is 0.75", F64))
    cases.append(_extreme(seed, 13, "|r - z0| up to 1e4, float32", F32))
    cases.append(_extreme(seed, 14, "|r - z0| up to 1e4, float64", F64))
    # KL pairs of both signs: z0 clamps their mean, not each pair (the others' pairs share one sign).
    r = g(15)
    kl_ref = -(10 + 40 * torch.rand(5, generator=r, dtype=F64))
    gaps = torch.tensor([2.0, -1.5, 1.25, -0.5, 0.25], dtype=F64)
    cases.append(int_width(_case("KL pairs of both signs", *_logps(r, 4), kl_ref + gaps, kl_ref, _labels(r, 4).long(),
                                 {"beta": 0.2, "undesirable_weight": 1.3}, "mean log-ratio 0.3, z0 > 0", F64),
                           "KL pairs of both signs", "int16"))
    # What slicing a concatenated batch hands over: every other element of longer tensors.
    r = g(16)
    case = _case("non-contiguous inputs", *_logps(r, 5), *_kl(r, 4, 1.2), _labels(r, 5).long(), {"beta": 0.3},
                 "the four log-prob inputs x[1::2] of longer tensors", F32)
    case.layout.update({**{name: "strided" for name in NAMES[:4]}, "desirable": "uint8"})
    cases.append(case)
    r = g(17)  # β = 1 with both weights: a shortcut for β = 1 must keep them
    cases.append(int_width(_case("β = 1, both weights", *_logps(r, 5), *_kl(r, 4, 0.9), _labels(r, 5).long(),
                                 {"beta": 1.0, "desirable_weight": 1.2, "undesirable_weight": 0.8}, "z0 > 0", F32),
                           "β = 1, both weights", "int16"))
    # One label only, with a negative KL estimate: code that splits the batch by label (TRL's
    # `if n > 0` branches) and clamps z0 inside one branch returns it unclamped for the other.
    r = g(18)
    cases.append(_case("all desirable, mean KL negative", *_logps(r, 4), *_kl(r, 3, -1.5), _labels(r, 4, "all"),
                       {"beta": 0.3, "desirable_weight": 1.2}, "z0 = 0", F32))
    r = g(19)
    cases.append(_case("all undesirable, mean KL negative", *_logps(r, 5), *_kl(r, 4, -2.0), _labels(r, 5, "none"),
                       {"beta": 0.3, "undesirable_weight": 0.8}, "z0 = 0", F64))
    # The low end of β's range, with log-ratios of tens of nats so that β·(r - z0) is not ~0.
    r = g(20)
    cases.append(int_width(_case("β = 0.01", *_logps(r, 6, spread=5.0), *_kl(r, 5, 1.0), _labels(r, 6).long(),
                                 {"beta": 0.01, "desirable_weight": 1.3, "undesirable_weight": 0.6}, "z0 > 0", F64),
                           "β = 0.01", "int8"))
    # Past common chunk sizes: B = 33 = 4·8 + 1, K = 65 = 2·32 + 1, so a loop over chunks of
    # 8, 16, 32 or 64 that drops the tail or averages chunk means shows.
    r = g(21)
    cases.append(int_width(_case("B = 33, K = 65", *_logps(r, 33), *_kl(r, 65, 1.2), _labels(r, 33).long(),
                                 {"beta": 0.2, "desirable_weight": 1.1, "undesirable_weight": 0.9}, "z0 > 0", F32),
                           "B = 33, K = 65", "int32"))
    # Past the largest micro-batch (256 examples): a mean of chunk means weighs the last one alone;
    # K = 300 likewise for z0 (chunks of 128 or 256 KL pairs, 300 a multiple of neither).
    r = g(22)
    cases.append(_case("B = 257, K = 300", *_logps(r, 257), *_kl(r, 300, 1.0), _labels(r, 257),
                       {"beta": 0.2, "desirable_weight": 1.2, "undesirable_weight": 0.9}, "z0 > 0", F32))
    # Equal weights other than 1, and the ends of the weights' range: code that drops equal
    # weights ("only their ratio matters") or special-cases 1 shows here.
    for salt, (name, w_d, w_u, dtype) in enumerate((("equal weights 2", 2.0, 2.0, F64),
                                                    ("equal weights 0.5", 0.5, 0.5, F32),
                                                    ("weights 0.01 and 100", 0.01, 100.0, F64),
                                                    ("weights 100 and 0.01", 100.0, 0.01, F32)), start=23):
        r = g(salt)
        cases.append(_case(name, *_logps(r, 6), *_kl(r, 4, 1.0), _labels(r, 6),
                           {"beta": 0.3, "desirable_weight": w_d, "undesirable_weight": w_u}, "z0 > 0", dtype))
    cases.append(int_width(integers, "desirable as int32", "int32"))
    return cases


ROW_CASE = 11  # "rows alone"


def _extreme(seed: int, salt: int, name: str, dtype: torch.dtype) -> Case:
    """Sequence log-probs near -2e4 and log-ratios of thousands of nats on both sides of z0,
    so β·(r - z0) reaches ±1000: where 1/(1 + exp(-x)) overflows and its gradient is NaN. The
    KL pairs are long completions too: exp of their log-probs underflows to 0."""
    g = generator(seed, salt)
    b = 6
    ref = -(1e4 + 1e4 * torch.rand(b, generator=g, dtype=F64))
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], dtype=F64)
    policy = ref + sign * (1e3 + 9e3 * torch.rand(b, generator=g, dtype=F64))
    # KL log-probs on a grid of 1/8 nat: below 2^15 in magnitude, K = 4 of them sum and average
    # exactly in float32, so z0 is the same whichever order a correct loss subtracts and means in
    # (the case is about exp underflowing, not about rounding).
    kl_policy, kl_ref = (on_grid(t, 8) for t in _kl(g, 4, 3.0, depth=400.0))
    labels = torch.tensor([True, True, False, False, True, False])
    return _case(name, policy, ref, kl_policy, kl_ref, labels, {"beta": 0.1, "desirable_weight": 1.1},
                 "log-ratios of thousands of nats", dtype, extreme=True, scale=10.0)


def bad_inputs(seed: int) -> list[Case]:
    g = generator(seed, 90)
    policy, ref = _logps(g, 4)
    empty = torch.zeros(0, dtype=F64)
    labels = torch.tensor([True, False, True, False])
    return [
        _case("empty kl inputs", policy, ref, empty, empty, labels, {}, "K = 0", F32),
        _case("empty kl inputs, float64, all desirable", policy, ref, empty, empty, _labels(g, 4, "all"), {},
              "K = 0", F64),
        # one of the two empty: a check of kl_policy_logps alone would take it
        _case("empty kl_ref_logps only", policy, ref, ref[:1].clone(), empty, labels, {}, "K = 1 and 0", F32),
        _case("empty kl_policy_logps only", policy, ref, empty, ref[:1].clone(), labels, {}, "K = 0 and 1", F32),
    ]


# ---------------------------------------------------------------- mistake models
def _kto(policy, ref, kl_policy, kl_ref, desirable, beta=0.1, desirable_weight=1.0, undesirable_weight=1.0, *,
         z0=None, clamp=True, value=None, undesirable=None, weights=None, reduce=None):
    """kto_loss with one convention changed; each keyword names what a mistake changes."""
    if z0 is None:
        z0 = (kl_policy - kl_ref).mean()
    z0 = z0.clamp(min=0) if clamp else z0
    r = policy - ref
    d = desirable.bool()
    w_d, w_u = weights or (desirable_weight, undesirable_weight)
    value = value or (lambda x: torch.sigmoid(-x))  # the loss of an example whose margin is x
    undesirable = undesirable or (lambda r_, z: value(beta * (z - r_)))
    losses = torch.where(d, w_d * value(beta * (r - z0)), w_u * undesirable(r, z0))
    loss = reduce(losses, d) if reduce else losses.mean()
    return {"loss": loss, "rewards": beta * r, "kl": z0}


def _only_desirable(*a, **k):
    return [{"loss": _kto(*a, **k, reduce=lambda losses, d: losses.sum() / d.sum())["loss"]},
            {"loss": _kto(*a, **k, reduce=lambda losses, d: losses[d].mean())["loss"]}]


MODELS: dict[str, Callable[..., Any]] = {
    "z0 not clamped at 0": lambda *a, **k: _kto(*a, **k, clamp=False),
    "z0 from the batch's own log-ratios":
        lambda p, r, *a, **k: [_kto(p, r, *a, **k, z0=(p - r).mean()),
                               _kto(p, r, *a, **k, z0=(p - r).mean(), clamp=False)],
    "DPO's -log σ instead of 1 - σ": lambda *a, **k: {"loss": _kto(*a, **k, value=lambda x: -F.logsigmoid(x))["loss"]},
    "undesirable term with the wrong sign":
        lambda *a, beta=0.1, **k: {"loss": _kto(*a, beta=beta, **k,
                                                undesirable=lambda r_, z: torch.sigmoid(-beta * (r_ - z)))["loss"]},
    "weights swapped":
        lambda *a, desirable_weight=1.0, undesirable_weight=1.0, **k:
            {"loss": _kto(*a, **k, weights=(undesirable_weight, desirable_weight))["loss"]},
    "mean over desirable examples only": _only_desirable,
    "rewards without β": lambda p, r, *a, **k: {"rewards": p - r},
}


def combine_rows(rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
    """The batch's outputs from its rows graded alone: the loss is the rows' mean, rewards are
    concatenated, and z0 is every row's (the row case's KL pairs all share one log-ratio)."""
    return [torch.stack([r[0] for r in rows]).mean(0), torch.cat([r[1] for r in rows]), rows[0][2]]


# ---------------------------------------------------------------- behaviour
SPEC = FunctionSpec(
    function="kto_loss",
    params=tuple(Param(n) for n in NAMES) + (Param("beta", 0.1), Param("desirable_weight", 1.0),
                                             Param("undesirable_weight", 1.0)),
    outputs=("loss", "rewards", "kl"),
    grad_inputs=("policy_logps",),
    make_cases=make_cases,
    loss="loss",
    detached=("rewards", "kl"),
    constants=("ref_logps", "kl_policy_logps", "kl_ref_logps"),
    bad_inputs=bad_inputs,
    models=MODELS,
    behaviour=KTOBehaviour(),
    row_case=ROW_CASE,
    combine_rows=combine_rows,
    conventions=CONVENTIONS,
)
