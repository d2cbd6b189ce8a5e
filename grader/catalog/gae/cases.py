"""gae's seeded cases and the fixed battery of edge cases.

Padding positions hold garbage: finite numbers of up to ±50 (±1e4 in one case), as a critic's
output on pad tokens would be, so every mistake that lets padding reach a response token
changes the result by far more than any tolerance; and, since the statement says "arbitrary
finite numbers", two cases hold numbers near the dtype's largest there, where arithmetic on
padding before it is masked (r - V) overflows and inf·0 is NaN. Rewards and values are passed
with requires_grad (as `constants`), so that outputs left with a graph show in
`rewards_detached`.
The long rows (T = 512) are where a (γλ)^-t rescaling underflows: γλ = 0.7425 in float32
(0.7425^t leaves float32's normal range near t = 290) and γλ = 0.225 in float64 (near t = 470);
rows of T = 300 at λ = 1, γ = 0.7 are where a γ^-t rescaled reward-to-go does, and rows of
T = 512 (the stated limit) at γ = λ = 1 are where any horizon short of 512 tokens loses what
nothing discounts. Two long batches (T = 300 in float32, T = 512 in float64) have no padding at
all, so that a closed form taken only when nothing is padded meets its underflow too. Float
masks have the rewards' dtype, as the statement says; every mask kind (float, bool, and the
integer widths int64, int32, int16, int8, uint8) meets both float32 and float64 rewards
(`MASK_KINDS`), since a mask cast to a fixed float dtype shows only against float64.
"""
from __future__ import annotations

from typing import Any

import torch

from grader.catalog.gae.behaviour import lengths_mask
from grader.checks.cases import Case, cast_mask, generator, on_grid

# Integer masks in widths other than int64 (the statement's "int" is any width): the case holds
# an int64 mask, and the grader passes it in the width its layout names.
INT_WIDTHS = ("int32", "int16", "int8", "uint8")
MASK_KINDS = ("float", "bool", "int", *INT_WIDTHS)


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


def huge_padding_case(seed: int, salt: int, dtype: torch.dtype, mask: str) -> Case:
    """Padding near the dtype's largest finite number (0.5 to 0.9 of it), rewards and values of
    opposite signs at each position: r - V there overflows to ±inf, and inf·0 is NaN, wherever
    code does arithmetic on padding before masking it (the statement allows any finite number)."""
    case = gae_case(seed, salt, f"padding near the largest {str(dtype)[6:]}", [4, 1, 6, 0], 4, 6, dtype, mask,
                    {"gamma": 0.99, "lam": 0.9}, remark="padding holds ±(0.5 to 0.9)·finfo.max")
    r, v = case.inputs["rewards"], case.inputs["values"]
    pad = case.inputs["mask"] == 0  # [B, T]
    huge = torch.finfo(dtype).max * (0.5 + 0.4 * torch.rand(r.shape, generator=generator(seed, salt + 500),
                                                             dtype=torch.float64))
    sign = torch.where(r > 0, 1.0, -1.0).to(torch.float64)
    r[pad] = (sign * huge).to(dtype)[pad]
    v[pad] = (-sign * huge).to(dtype)[pad]
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
        gae_case(seed, 7, "an empty row", [5, 0, 2], 3, 5, f64, "int16", {"gamma": 0.9, "lam": 0.7}),
        gae_case(seed, 8, "sparse rewards", [6, 3, 1, 0], 4, 6, f32, "int32", {"gamma": 0.99, "lam": 0.95},
                 sparse=True, remark="rewards exactly 0 but at the last token, a third of the values 0"),
        layout_case(seed, 9, f64),
        expanded_case(seed, 10, f32),
        gae_case(seed, 11, "λ = 0", [4, 2], 2, 4, f64, "int", {"gamma": 0.9, "lam": 0.0}),
        gae_case(seed, 12, "λ = γ = 1", [5, 3], 2, 5, f32, "int16", {"gamma": 1.0, "lam": 1.0}),
        gae_case(seed, 13, "γ = 0", [3, 1], 2, 3, f64, "uint8", {"gamma": 0.0, "lam": 0.95}),
        gae_case(seed, 14, "large garbage", [3, 6, 1], 3, 6, f32, "float", {"gamma": 0.97, "lam": 0.9},
                 garbage=1e4, remark="padding holds up to ±1e4"),
        huge_padding_case(seed, 29, f32, "float"),
        huge_padding_case(seed, 30, f64, "bool"),
        gae_case(seed, 15, "T=512, float32", [512, 400, 301], 3, 512, f32, "float",
                 {"gamma": 0.99, "lam": 0.75}, extreme=True, remark="γλ = 0.7425"),
        gae_case(seed, 16, "T=512, float64, no padding", [512, 512], 2, 512, f64, "int8",
                 {"gamma": 0.9, "lam": 0.25}, extreme=True, remark="γλ = 0.225"),
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
        gae_case(seed, 24, "γ = λ = 0", [3, 1], 2, 3, f32, "int8", {"gamma": 0.0, "lam": 0.0}),
        # Past the usual chunk sizes (8 ... 256), where micro-batched, blocked or banded code cuts
        # off: 33 and 257 rows (`B // 256 or 1` micro-batches of 256 drop the last); rows of 512
        # tokens (the stated limit) at γ = λ = 1 (verl's defaults), where nothing discounts the
        # tail that any horizon or window shorter than the row drops; and full rows of 300 at
        # λ = 1, γ = 0.7, where γ^t underflows.
        gae_case(seed, 26, "B=33", None, 33, 6, f32, "bool", {"gamma": 0.99, "lam": 0.9}),
        gae_case(seed, 31, "B=257", None, 257, 3, f32, "float", {"gamma": 0.9, "lam": 0.8}),
        _on_grid(gae_case(seed, 27, "T=512, γ = λ = 1", [512, 470], 2, 512, f32, "float",
                          {"gamma": 1.0, "lam": 1.0}, extreme=True, remark="inputs on a grid of 2^-8")),
        gae_case(seed, 28, "T=300, λ = 1, γ = 0.7, no padding", [300, 300], 2, 300, f32, "int",
                 {"gamma": 0.7, "lam": 1.0}, extreme=True,
                 remark="0.7^t leaves float32's normal range near t = 245 and its range near t = 290"),
    ]
