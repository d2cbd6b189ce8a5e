"""gae: a fixed battery of cases, seeded cases, the mistakes' models, and the behaviour run.

Padding positions hold garbage: finite numbers of up to ±50 (±1e4 in one case), as a critic's
output on pad tokens would be, so every mistake that lets padding reach a response token
changes the result by far more than any tolerance. Rewards and values are passed with
requires_grad (as `constants`), so that outputs left with a graph show in `rewards_detached`.
The long rows (T = 512) are where a (γλ)^-t rescaling underflows: γλ = 0.7425 in float32
(0.7425^t leaves float32's normal range near t = 290) and γλ = 0.225 in float64 (near t = 470);
rows of T = 300 at λ = 1, γ = 0.7 are where a γ^-t rescaled reward-to-go does, and rows of
T = 512 (the stated limit) at γ = λ = 1 are where any horizon short of 512 tokens loses what
nothing discounts. Float masks have the rewards' dtype, as the statement says; integer masks
come in several widths (int64, int32, int8, uint8).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.gae.behaviour import ClosedFormBehaviour, lengths_mask
from grader.checks.cases import Case, cast_mask, generator, on_grid
from grader.checks.conventions import Conventions, Knob
from grader.checks.function import FunctionSpec, Param

NAMES = ("rewards", "values", "mask")

# Integer masks in widths other than int64 (the statement's "int" is any width): the case holds
# an int64 mask, and the grader passes it in the width its layout names.
INT_WIDTHS = ("int32", "int16", "int8", "uint8")


def _mask(m: torch.Tensor, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] 0/1 mask of `kind`: a float mask in the rewards' dtype, as the statement says it is
    (a float32 mask beside float64 rewards is out of range, and code that trusts the statement
    may allocate its outputs like the mask)."""
    if kind == "float":
        return m.to(dtype)
    return cast_mask(m, "int" if kind in INT_WIDTHS else kind)


def gae_case(seed: int, salt: int, name: str, lengths: list[int] | None, b: int, t: int, dtype: torch.dtype,
             mask: str, options: dict[str, Any], sparse: bool = False, garbage: float = 50.0,
             extreme: bool = False, remark: str = "", magnitude: float = 1.0) -> Case:
    """Rewards and values of about 1 on response tokens, garbage at padding.

    mask: "float", "bool", "int" or one of INT_WIDTHS; lengths: each row's response length (None:
    drawn in 1..T, the first row full); sparse: every reward is exactly 0 but the last token's (an
    RLHF score), and a third of the values are 0.
    """
    g = generator(seed, salt)
    if lengths is None:
        lengths = [t] + [int(x) for x in torch.randint(1, t + 1, (b - 1,), generator=g)]
    m = lengths_mask(lengths, t).to(torch.float64)  # [B, T]
    rewards = magnitude * torch.randn(b, t, generator=g, dtype=torch.float64)
    values = magnitude * torch.randn(b, t, generator=g, dtype=torch.float64)
    if magnitude > 1 and lengths[0]:
        rewards[0, lengths[0] - 1] = 3 * magnitude  # a reward model's score far from 0, at every seed
    if sparse:
        last = torch.zeros(b, t, dtype=torch.float64)
        for row, n in enumerate(lengths):
            if n:
                last[row, n - 1] = 1.0
        rewards = rewards * last
        values = torch.where(torch.rand(b, t, generator=g) < 1 / 3, torch.zeros_like(values), values)
    junk = lambda: garbage * (2 * torch.rand(b, t, generator=g, dtype=torch.float64) - 1)
    rewards = torch.where(m.bool(), rewards, junk()).to(dtype)
    values = torch.where(m.bool(), values, junk()).to(dtype)
    upstream = torch.randn(b, t, generator=g, dtype=torch.float64).to(dtype)
    opts = "".join(f", {k}={v}" for k, v in options.items()) or ", default γ and λ"
    note = f"B={b}, T={t}, {str(dtype)[6:]}, {mask} mask, lengths {_lengths(lengths)}{opts}" + \
        (f"; {remark}" if remark else "")
    case = Case(name, {"rewards": rewards, "values": values, "mask": _mask(m, mask, dtype)}, options,
                extreme=extreme, upstream=upstream, note=note)
    if mask in INT_WIDTHS:
        case.layout["mask"] = mask
    return case


def _lengths(lengths: list[int]) -> str:
    return str(lengths) if len(lengths) <= 6 else f"{lengths[:5]}..."


def _on_grid(case: Case) -> Case:
    """Rewards and values rounded to multiples of 2^-8: at γ = λ = 1 every partial sum of a row
    is then exact in float32, so any order of summation (a loop, a matrix product, a scan) gives
    the same advantages, and a long row's tolerance need not make room for rounding."""
    for name in ("rewards", "values"):
        case.inputs[name] = on_grid(case.inputs[name], 256)
    return case


def layout_case(seed: int, salt: int, dtype: torch.dtype) -> Case:
    """Non-contiguous inputs: rewards a slice x[:, :-1] of a wider x, values a transposed view,
    the mask a slice too."""
    case = gae_case(seed, salt, "non-contiguous", [6, 4, 1], 3, 6, dtype, "float", {"gamma": 0.9, "lam": 0.8},
                    remark="rewards = x[:, :-1], values a transposed view, mask = m[:, :-1]")
    case.layout.update(rewards="sliced", values="transposed", mask="sliced")
    return case


def expanded_case(seed: int, salt: int, dtype: torch.dtype) -> Case:
    """One mask row expanded to the batch (stride 0): every response has the same length."""
    b, t = 4, 7
    case = gae_case(seed, salt, "expanded mask", [5] * b, b, t, dtype, "bool", {"lam": 0.9},
                    remark="mask = row.expand(B, T)")
    case.layout["mask"] = "expanded"
    return case


def make_cases(seed: int) -> list[Case]:
    f32, f64 = torch.float32, torch.float64
    return [
        # Seeded cases; case 0 is graded row by row.
        gae_case(seed, 1, "padded", None, 4, 7, f32, "float", {}),
        gae_case(seed, 2, "float64, bool mask", None, 3, 6, f64, "bool", {"gamma": 0.99, "lam": 0.9}),
        gae_case(seed, 3, "int mask", None, 5, 9, f32, "int", {"gamma": 0.9, "lam": 0.5}),
        gae_case(seed, 4, "longer, float64", None, 2, 12, f64, "float", {"gamma": 0.95, "lam": 0.8}),
        # The fixed battery: every seed, whatever the draw.
        gae_case(seed, 5, "B=1, T=1", [1], 1, 1, f64, "float", {}),
        gae_case(seed, 6, "B=1, T=1, empty", [0], 1, 1, f32, "int", {"gamma": 0.9}),
        gae_case(seed, 21, "no response token, float64, bool mask", [0, 0], 2, 3, f64, "bool", {"lam": 0.9}),
        gae_case(seed, 7, "an empty row", [5, 0, 2], 3, 5, f64, "bool", {"gamma": 0.9, "lam": 0.7}),
        gae_case(seed, 8, "sparse rewards", [6, 3, 1, 0], 4, 6, f32, "int32", {"gamma": 0.99, "lam": 0.95},
                 sparse=True, remark="rewards exactly 0 but at the last token, a third of the values 0"),
        layout_case(seed, 9, f64),
        expanded_case(seed, 10, f32),
        gae_case(seed, 11, "λ = 0", [4, 2], 2, 4, f64, "float", {"gamma": 0.9, "lam": 0.0}),
        gae_case(seed, 12, "λ = γ = 1", [5, 3], 2, 5, f32, "float", {"gamma": 1.0, "lam": 1.0}),
        gae_case(seed, 13, "γ = 0", [3, 1], 2, 3, f64, "bool", {"gamma": 0.0, "lam": 0.95}),
        gae_case(seed, 14, "large garbage", [3, 6, 1], 3, 6, f32, "float", {"gamma": 0.97, "lam": 0.9},
                 garbage=1e4, remark="padding holds up to ±1e4"),
        gae_case(seed, 15, "T=512, float32", [512, 400, 301], 3, 512, f32, "float",
                 {"gamma": 0.99, "lam": 0.75}, extreme=True, remark="γλ = 0.7425"),
        gae_case(seed, 16, "T=512, float64", [512, 505], 2, 512, f64, "int8", {"gamma": 0.9, "lam": 0.25},
                 extreme=True, remark="γλ = 0.225"),
        gae_case(seed, 17, "scores far from 0", [6, 4, 5], 3, 6, f64, "float", {"gamma": 1.0, "lam": 0.95},
                 sparse=True, magnitude=20.0, remark="the last token's reward up to ±60, values about ±20"),
        # 0 and 1 meet the other option off its default: a shortcut for λ = 1 (Monte Carlo
        # returns) must keep γ, and one for γ = 0 must hold whatever λ.
        gae_case(seed, 18, "λ = 1, γ < 1", [5, 2, 4], 3, 5, f64, "float", {"gamma": 0.9, "lam": 1.0}),
        gae_case(seed, 19, "γ = 0, λ < 1", [3, 2], 2, 3, f32, "uint8", {"gamma": 0.0, "lam": 0.5}),
        # A long row at the defaults (γλ = 0.95): a window of a few dozen tokens loses a share
        # of the sum that the tolerance sees.
        gae_case(seed, 20, "T=200, defaults", [200, 131], 2, 200, f32, "float", {}, extreme=True,
                 remark="γλ = 0.95"),
        # γ and λ at their ends together (the first case passes them as ints, as a config file
        # may): a λ = 1 shortcut through a γ^-t rescaled reward-to-go divides 0 by 0 at γ = 0.
        gae_case(seed, 22, "γ = 0, λ = 1, ints", [4, 2], 2, 4, f32, "float", {"gamma": 0, "lam": 1},
                 remark="γ and λ passed as ints"),
        gae_case(seed, 23, "γ = 1, λ = 0", [3, 5], 2, 5, f64, "int32", {"gamma": 1.0, "lam": 0.0}),
        gae_case(seed, 24, "γ = λ = 0", [3, 1], 2, 3, f32, "bool", {"gamma": 0.0, "lam": 0.0}),
        # Past the usual chunk sizes (8 ... 256), where micro-batched, blocked or banded code cuts
        # off: 33 rows; rows of 512 tokens (the stated limit) at γ = λ = 1 (verl's defaults), where
        # nothing discounts the tail that any horizon or window shorter than the row drops; and at
        # λ = 1, γ = 0.7, where γ^t underflows.
        gae_case(seed, 26, "B=33", None, 33, 6, f32, "bool", {"gamma": 0.99, "lam": 0.9}),
        _on_grid(gae_case(seed, 27, "T=512, γ = λ = 1", [512, 470], 2, 512, f32, "float",
                          {"gamma": 1.0, "lam": 1.0}, extreme=True, remark="inputs on a grid of 2^-8")),
        gae_case(seed, 28, "T=300, λ = 1, γ = 0.7", [300, 290], 2, 300, f32, "int", {"gamma": 0.7, "lam": 1.0},
                 extreme=True, remark="0.7^t leaves float32's normal range near t = 245"),
    ]


# ---------------------------------------------------------------- the contract, in pieces
def _next(x: torch.Tensor) -> torch.Tensor:
    """[B, T] -> [B, T]: x_{t+1}, and 0 after the last position."""
    return torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], 1)


def _backward(delta: torch.Tensor, carry: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """A_t = (δ_t + carry_t·A_{t+1})·out_t, from t = T-1 down (carry: γλ·m_{t+1}, or a mistake's)."""
    adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
    for t in reversed(range(delta.shape[1])):
        acc = (delta[:, t] + carry[:, t] * acc) * out[:, t]
        adv[:, t] = acc
    return adv


def _parts(rewards, values, mask):
    m = mask.to(rewards.dtype)
    return rewards.detach() * m, values.detach() * m, m


def advantages_of(rewards, values, mask, gamma=1.0, lam=0.95) -> torch.Tensor:
    r, v, m = _parts(rewards, values, mask)
    delta = r + gamma * _next(v) * _next(m) - v
    return _backward(delta, gamma * lam * _next(m), m)


# ---------------------------------------------------------------- mistake models
def _forward(rewards, values, mask, gamma=1.0, lam=0.95):
    r, v, m = _parts(rewards, values, mask)
    delta = r + gamma * _next(v) * _next(m) - v
    adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
    for t in range(delta.shape[1]):
        acc = (delta[:, t] + gamma * lam * acc) * m[:, t]
        adv[:, t] = acc
    return {"advantages": adv, "returns": (adv + v) * m}


def _rescaled_cumsum(rewards, values, mask, gamma=1.0, lam=0.95):
    """A_t = (γλ)^-t · Σ_{k>=t} (γλ)^k δ_k as a reversed cumsum: (γλ)^t underflows on long rows."""
    r, v, m = _parts(rewards, values, mask)
    delta = (r + gamma * _next(v) * _next(m) - v) * m
    t = torch.arange(delta.shape[1], dtype=delta.dtype)
    w = (gamma * lam) ** t  # [T]
    tail = torch.flip(torch.cumsum(torch.flip(delta * w, [1]), 1), [1])  # [B, T]
    out = []
    for adv in (tail / w * m, tail * (gamma * lam) ** -t * m):
        out.append({"advantages": adv, "returns": (adv + v) * m})
    return out


def _with_delta(delta_of: Callable[..., torch.Tensor]) -> Callable[..., Any]:
    """A model whose only slip is in δ_t; the recursion and the masking are the contract's."""
    def model(rewards, values, mask, gamma=1.0, lam=0.95):
        r, v, m = _parts(rewards, values, mask)
        adv = _backward(delta_of(r, v, m, values.detach(), gamma, lam), gamma * lam * _next(m), m)
        return {"advantages": adv, "returns": (adv + v) * m}
    return model


def _mask_ignored(rewards, values, mask, gamma=1.0, lam=0.95):
    """Nothing masked; or the recursion unmasked and only the outputs masked at the end."""
    r, v = rewards.detach(), values.detach()
    m = mask.to(r.dtype)
    ones = torch.ones_like(r)
    adv = _backward(r + gamma * _next(v) - v, gamma * lam * ones, ones)
    return [{"advantages": adv, "returns": adv + v}, {"advantages": adv * m, "returns": (adv + v) * m}]


def _reward_to_go(rewards, values, mask, gamma=1.0, lam=0.95):
    r, _, m = _parts(rewards, values, mask)
    return {"returns": _backward(r, gamma * torch.ones_like(r), m)}


def _whitened(rewards, values, mask, gamma=1.0, lam=0.95):
    """Normalised over the batch's response tokens, as TRL's PPO trainer does (Bessel or not)."""
    adv = advantages_of(rewards, values, mask, gamma, lam)
    m = mask.to(adv.dtype)
    n = m.sum()
    mean = (adv * m).sum() / n
    var = ((adv - mean) ** 2 * m).sum() / n
    out = []
    for variance in (var * n / (n - 1), var):
        out.append({"advantages": (adv - mean) * torch.rsqrt(variance + 1e-8) * m})
        out.append({"advantages": (adv - mean) / (variance.sqrt() + 1e-8) * m})
    return out


MODELS: dict[str, Callable[..., Any]] = {
    "forward instead of backward recursion": _forward,
    "γ·λ applied to δ's value term": _with_delta(lambda r, v, m, raw, g, l: r + g * l * _next(v) * _next(m) - v),
    "no bootstrap (V_{t+1} missing)": _with_delta(lambda r, v, m, raw, g, l: r - v),
    "the value after the last token taken from padding": _with_delta(lambda r, v, m, raw, g, l: r + g * _next(raw) - v),
    "mask ignored (garbage padding leaks)": _mask_ignored,
    "returns as the discounted reward-to-go": _reward_to_go,
    "returns not masked (padding keeps the values)":
        lambda rewards, values, mask, gamma=1.0, lam=0.95:
        {"returns": advantages_of(rewards, values, mask, gamma, lam) + values.detach()},
    "advantages whitened": _whitened,
    "(γλ)^−t rescaled cumsum": _rescaled_cumsum,
}


# ---------------------------------------------------------------- conventions (grader.checks.conventions)
def _formula(k, rewards, values, mask, gamma=1.0, lam=0.95):
    """Eq. 16 over right-padded rows; each knob `k[name]` picks one convention."""
    m = mask.to(rewards.dtype)
    if k["mask"] == "applied":
        r, v, keep = rewards * m, values * m, m
    else:  # nothing masked: padding's rewards and values flow into the response's last token
        r, v, keep = rewards, values, torch.ones_like(m)
    nxt = {"masked": _next(v) * _next(keep), "padding": _next(values), "none": torch.zeros_like(v)}
    gl = {"γλ": gamma * lam, "γ": gamma, "λ": lam}[k["carry"]]
    delta = r + {"γ": gamma, "γλ": gamma * lam, "1": 1.0}[k["bootstrap_scale"]] * nxt[k["bootstrap"]] - v  # [B, T]
    carry = gl * _next(keep)
    if k["direction"] == "backward":
        adv = _backward(delta, carry, keep)
    else:  # A_t = δ_t + γλ·A_{t-1}
        adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
        for t in range(delta.shape[1]):
            acc = (delta[:, t] + gl * acc) * keep[:, t]
            adv[:, t] = acc
    if k["mask"] == "outputs":
        adv = adv * m
    returns = {"A+V": lambda: (adv + v) * m, "unmasked": lambda: adv + values,
               "reward_to_go": lambda: _backward(rewards * m, gamma * torch.ones_like(m), m),
               "one_step": lambda: (delta + v) * m}[k["returns"]]()
    if k["whiten"] != "none":
        n = m.sum()
        mean = (adv * m).sum() / n
        var = ((adv - mean) ** 2 * m).sum() / (n - 1 if k["whiten"] == "bessel" else n)
        adv = (adv - mean) / (var.sqrt() + 1e-8) * m
    return {"advantages": adv, "returns": returns}


_MASK, _WHITENED = "mask ignored (garbage padding leaks)", "advantages whitened"
CONVENTIONS = Conventions(_formula, (
    Knob("direction", "backward", {"forward": "forward instead of backward recursion"}),
    Knob("bootstrap", "masked", {"none": "no bootstrap (V_{t+1} missing)",
                                 "padding": "the value after the last token taken from padding"}),
    Knob("bootstrap_scale", "γ", {"γλ": "γ·λ applied to δ's value term",
                                  "1": "γ missing from δ's bootstrap term: r_t + V_{t+1} - V_t"}),
    Knob("carry", "γλ", {"γ": "A_{t+1} carried by γ instead of γ·λ (λ missing)",
                         "λ": "A_{t+1} carried by λ instead of γ·λ (γ missing)"}),
    Knob("mask", "applied", {"ignored": _MASK, "outputs": _MASK}),
    Knob("returns", "A+V", {"reward_to_go": "returns as the discounted reward-to-go",
                            "unmasked": "returns not masked (padding keeps the values)",
                            "one_step": "returns as the one-step target r_t + γ·V_{t+1} instead of A_t + V_t"}),
    Knob("whiten", "none", {"bessel": _WHITENED, "population": _WHITENED}),
))


SPEC = FunctionSpec(
    function="gae",
    params=(Param("rewards"), Param("values"), Param("mask"), Param("gamma", 1.0), Param("lam", 0.95)),
    outputs=("advantages", "returns"),
    grad_inputs=(),
    constants=("rewards", "values"),
    make_cases=make_cases,
    detached=("advantages", "returns"),
    models=MODELS,
    behaviour=ClosedFormBehaviour(),
    conventions=CONVENTIONS,
)
