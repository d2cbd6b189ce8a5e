"""ppo's seeded cases and the fixed battery of edge cases (every ratio and value step at least
MARGIN from its clip bounds, as the contract promises)."""
from __future__ import annotations

import math
from typing import Any

import torch

from grader.checks.cases import Case, cast_mask, generator, on_grid, with_layout

NAMES = ("logps", "old_logps", "advantages", "values", "old_values", "returns", "mask")
F64 = torch.float64
MARGIN = 1e-6  # the contract: every ratio (and value step) at least this far from its clip bounds


def lengths_mask(lengths: list[int | str], t: int, kind: str) -> torch.Tensor:
    """[B, T] mask: an int row b is `lengths[b]` ones, then zeros (right padding); a str row is its
    own 0/1 pattern (a prompt before the response, gaps between a conversation's turns)."""
    mask = torch.zeros(len(lengths), t)
    for b, n in enumerate(lengths):
        if isinstance(n, str):
            mask[b] = torch.tensor([float(c) for c in n])
        else:
            mask[b, :n] = 1
    return cast_mask(mask, kind)


def away_from(x: torch.Tensor, bounds: tuple[float, float], gap: float) -> torch.Tensor:
    """x moved to `gap` beyond the nearer bound wherever it lies within `gap` of one (float64)."""
    for bound in bounds:
        near = (x - bound).abs() < gap
        x = torch.where(near, bound + gap * torch.where(x >= bound, 1.0, -1.0).to(F64), x)
    return x


def advantages_of(g: torch.Generator, b: int, t: int, kind: str) -> torch.Tensor:
    a = torch.randn(b, t, generator=g, dtype=F64)
    if kind == "positive":
        return a.abs() + 0.1
    if kind == "negative":
        return -(a.abs() + 0.1)
    if kind == "zero":
        return torch.zeros(b, t, dtype=F64)
    if kind == "rows":  # negative in even rows, positive in odd ones: both sides of the band, every seed
        return (a.abs() + 0.1) * torch.where(torch.arange(b) % 2 == 0, -1.0, 1.0).to(F64).unsqueeze(1)
    if kind == "floor":  # A ≥ 1 in even rows, where a floor of the ratio costs e^floor per unit of A; a small
        # A < 0 in odd rows (clipped at 1 - ε whatever the floor), so that the loss stays small
        return torch.where(torch.arange(b).unsqueeze(1) % 2 == 0, 1 + a.abs(), -(0.05 + 0.1 * a.abs()))
    if kind == "large":  # whitened advantages reach a few units; raw ones (the contract's "as given") far more
        a = 20 * a
        a[0, :2] = torch.tensor([60.0, -60.0], dtype=F64)[: min(t, 2)]
        return a
    a = torch.where(torch.rand(b, t, generator=g, dtype=F64) < 0.15, 0.0, a)  # some exact zeros ...
    if b * t > 1:
        a[0, 0] = 0.0  # ... and always one on a response token
    return a


def assemble(name: str, g_note: str, tensors: dict[str, torch.Tensor], dtype: torch.dtype, mask: torch.Tensor,
             options: dict[str, Any], transposed: bool = False, extreme: bool = False, scale: float = 1.0) -> Case:
    """A case from float64 tensors: cast to `dtype`, checked against the contract's margins."""
    inputs = {k: tensors[k].to(dtype) for k in NAMES[:-1]}
    inputs["mask"] = mask.to(dtype) if mask.is_floating_point() else mask  # a float mask is in the inputs' dtype
    check_margins(inputs, options)
    note = g_note + "".join(f", {k}={v}" for k, v in options.items())
    # transposed: the same values in column-major strides, what a transpose or a shift hands over
    layout = {k: "transposed" for k, v in inputs.items() if v.dim() == 2} if transposed else {}
    return Case(name, inputs, options, extreme=extreme, scale=scale, note=note, layout=layout)


def int_width(case: Case, kind: str) -> Case:
    """`case` with its integer mask passed in another integer width (`kind`: "int32", "int16",
    "int8", "uint8"): the statement's "int" is any width."""
    return with_layout(case, case.name, mask=kind)


def check_margins(inputs: dict[str, torch.Tensor], options: dict[str, Any]) -> None:
    """The cases' own promise, verified on the values as cast: no tie at a clip bound decides."""
    eps, eps_v = options.get("clip_eps", 0.2), options.get("value_clip_eps", 0.2)
    ratio = torch.exp(inputs["logps"].to(F64) - inputs["old_logps"].to(F64))
    step = inputs["values"].to(F64) - inputs["old_values"].to(F64)
    assert float((ratio - (1 - eps)).abs().min()) >= MARGIN and float((ratio - (1 + eps)).abs().min()) >= MARGIN
    assert float((step.abs() - eps_v).abs().min()) >= MARGIN


def ppo_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype, mask: str,
             options: dict[str, Any], lengths: list[int | str] | None = None, adv: str = "normal",
             transposed: bool = False, returns_scale: float = 1.0, low_ratios: bool = False,
             floor: bool = False) -> Case:
    """Plausible PPO inputs: log-ratios of about ±0.4 (both sides of the band), values that move
    about ±0.4 from old_values (so value clipping is often active); padding holds finite numbers.
    `low_ratios`: every other token's ratio in [0.05, 0.3] instead, below 1/(1 + ε) for every
    ε ≤ 2, where a lower bound that should not exist (ε ≥ 1) would clip. `floor`: every log-ratio
    in [-20, -7] instead (ratios from 2e-9 to 9e-4), where a floor of the log-ratio or the ratio
    "against underflow" changes the loss of an ordinary scale."""
    g = generator(seed, salt)
    eps, eps_v = options.get("clip_eps", 0.2), options.get("value_clip_eps", 0.2)
    if lengths is None:
        lengths = [int(torch.randint(1, t + 1, (1,), generator=g)) for _ in range(b)]
    old = -1.5 - 2.5 * torch.rand(b, t, generator=g, dtype=F64)  # [B, T] in [-4, -1.5]
    ratio = torch.exp((0.4 * torch.randn(b, t, generator=g, dtype=F64)).clamp(-1.4, 1.4))
    if low_ratios:  # a generator of its own: the flag changes no other number of the case
        low = 0.05 + 0.25 * torch.rand(b, t, generator=generator(seed, salt + 1000), dtype=F64)
        ratio = torch.where(torch.arange(t) % 2 == 0, low, ratio)
    if floor:
        ratio = torch.exp(-7 - 13 * torch.rand(b, t, generator=generator(seed, salt + 1000), dtype=F64))
    ratio = away_from(ratio, (1 - eps, 1 + eps), 2e-3)
    old_values = torch.randn(b, t, generator=g, dtype=F64)
    step = away_from(0.4 * torch.randn(b, t, generator=g, dtype=F64), (-eps_v, eps_v), 2e-3)
    tensors = {"logps": old + ratio.log(), "old_logps": old, "advantages": advantages_of(g, b, t, adv),
               "values": old_values + step, "old_values": old_values,
               "returns": old_values + 0.8 * returns_scale * torch.randn(b, t, generator=g, dtype=F64)}
    rows = "mask rows" if any(isinstance(n, str) for n in lengths) else "lengths"
    shown = lengths if b <= 8 else f"[{lengths[0]}, {lengths[1]}, ..., {lengths[-1]}]"
    note = f"B={b}, T={t}, {str(dtype)[6:]}, {mask} mask, {rows} {shown}" + (", non-contiguous" if transposed else "")
    if adv == "large":
        note += ", advantages up to ±60, returns far from the values"
    if low_ratios:
        note += ", every other ratio in [0.05, 0.3]"
    if floor:
        note += ", log-ratios in [-20, -7], A ≥ 1 in even rows and small A < 0 in odd ones"
    return assemble(name, note, tensors, dtype, lengths_mask(lengths, t, mask), options, transposed)


def near_bounds_case(seed: int, salt: int, name: str, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """Every ratio just inside or just outside 1 - ε and 1 + ε (by 2e-6 in float64, 2e-5 in float32,
    up to 1e-2), each with a positive and a negative advantage; value steps likewise around ±ε_v."""
    g = generator(seed, salt)
    eps, eps_v = options.get("clip_eps", 0.2), options.get("value_clip_eps", 0.2)
    deltas = (2e-6, 1e-4, 1e-2) if dtype == F64 else (2e-5, 1e-3, 1e-2)
    offsets = [s * d for d in deltas for s in (1.0, -1.0)]  # 6
    ratio = torch.tensor([bd + o for bd in (1 - eps, 1 + eps) for o in offsets] * 2, dtype=F64).view(4, 6)
    step = torch.tensor([bd + o for bd in (-eps_v, eps_v) for o in offsets] * 2, dtype=F64).view(4, 6)
    sign = torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=F64).unsqueeze(1)  # rows 0-1: A > 0; rows 2-3: A < 0
    pad = lambda x, fill: torch.cat([x, torch.full((4, 1), fill, dtype=F64)], 1)  # [4, 7]: one padding column
    old = -1.5 - 2.5 * torch.rand(4, 7, generator=g, dtype=F64)
    old_values = torch.randn(4, 7, generator=g, dtype=F64)
    tensors = {"logps": old + pad(ratio, 1.0).log(), "old_logps": old,
               "advantages": pad(sign * (0.5 + torch.rand(4, 6, generator=g, dtype=F64)), 0.3),
               "values": old_values + pad(step, 0.0), "old_values": old_values,
               "returns": old_values + 0.8 * torch.randn(4, 7, generator=g, dtype=F64)}
    note = f"B=4, T=7, {str(dtype)[6:]}, ratios within {deltas[0]:g} to {deltas[-1]:g} of 1 ± ε, both advantage signs"
    return assemble(name, note, tensors, dtype, lengths_mask([6] * 4, 7, "float"), options)


def extreme_case(seed: int, salt: int, name: str, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """Log-probs down to -200 and |logps - old_logps| up to 20: ratios from 2e-9 to 5e8."""
    g = generator(seed, salt)
    b, t = 4, 16
    eps = options.get("clip_eps", 0.2)
    old = -20 - 160 * torch.rand(b, t, generator=g, dtype=F64)  # [-180, -20]
    log_ratio = 20 * (2 * torch.rand(b, t, generator=g, dtype=F64) - 1)
    log_ratio[:, 0], log_ratio[:, 1] = 20.0, -20.0  # the ends of the range in every row
    ratio = away_from(log_ratio.exp(), (1 - eps, 1 + eps), 2e-3)
    # Both log-probs on a grid of 2^-12, which float32 holds exactly down to -256: code that
    # computes in float32 inside then gets the same log-ratio, not one off by 1.5e-5 (float32's
    # rounding near -200), which at ratios of e^20 moves the gradient past float64's tolerance.
    # The rounding moves a ratio by at most 2.5e-4 of itself, inside the 2e-3 kept from 1 ± ε.
    logps, old = on_grid(old + ratio.log(), 4096), on_grid(old, 4096)
    old_values = torch.randn(b, t, generator=g, dtype=F64)
    tensors = {"logps": logps, "old_logps": old, "advantages": advantages_of(g, b, t, "normal"),
               "values": old_values + away_from(0.4 * torch.randn(b, t, generator=g, dtype=F64), (-0.2, 0.2), 2e-3),
               "old_values": old_values, "returns": old_values + torch.randn(b, t, generator=g, dtype=F64)}
    note = f"B={b}, T={t}, {str(dtype)[6:]}, log-probs to -200, |log-ratio| up to 20"
    return assemble(name, note, tensors, dtype, lengths_mask([16, 12, 9, 16], t, "float"), options,
                    extreme=True, scale=100.0)


def make_cases(seed: int) -> list[Case]:
    # vf_coef is never 1 and ε_v varies, so that every value-side mistake shows on every seed; the
    # battery after the first two runs at every seed with the same layout, only its numbers drawn.
    # Every integer width of the mask (int64, int32, int16, int8, uint8) and bool meet float32 and
    # float64 inputs: a mask cast to a fixed float dtype, or a width refused, shows at every seed.
    f32 = torch.float32
    return [
        ppo_case(seed, 1, "padded", 4, 7, f32, "float", {}),
        ppo_case(seed, 2, "float64, bool mask", 3, 6, F64, "bool",
                 {"clip_eps": 0.1, "value_clip_eps": 0.5, "vf_coef": 0.5}),
        int_width(ppo_case(seed, 3, "B=1, T=1", 1, 1, f32, "int", {"clip_eps": 0.3}, lengths=[1]), "int32"),
        ppo_case(seed, 4, "an empty row", 3, 5, F64, "int", {"vf_coef": 0.25}, lengths=[5, 0, 2]),
        ppo_case(seed, 5, "no response token", 2, 3, f32, "float", {}, lengths=[0, 0]),
        ppo_case(seed, 6, "non-contiguous", 3, 6, f32, "int", {"clip_eps": 0.15}, lengths=[6, 3, 1],
                 transposed=True),
        ppo_case(seed, 7, "B == T", 5, 5, F64, "bool", {"value_clip_eps": 0.1}, lengths=[5, 4, 3, 2, 1]),
        ppo_case(seed, 8, "all-positive advantages", 3, 6, f32, "float", {}, lengths=[6, 4, 2], adv="positive"),
        int_width(ppo_case(seed, 9, "all-negative advantages", 3, 6, F64, "int", {"vf_coef": 0.3},
                           lengths=[2, 6, 5], adv="negative"), "int8"),
        ppo_case(seed, 10, "zero advantages", 2, 4, f32, "bool", {}, lengths=[4, 2], adv="zero"),
        near_bounds_case(seed, 11, "ratios near 1 ± ε, float64", F64, {}),
        near_bounds_case(seed, 12, "ratios near 1 ± ε, float32", torch.float32,
                         {"clip_eps": 0.1, "value_clip_eps": 0.3}),
        ppo_case(seed, 13, "larger", 6, 12, f32, "float", {"clip_eps": 0.25, "value_clip_eps": 0.1, "vf_coef": 0.5},
                 lengths=[12, 9, 7, 12, 3, 10]),
        ppo_case(seed, 16, "large advantages and returns", 3, 6, F64, "float", {"vf_coef": 0.5}, lengths=[6, 5, 3],
                 adv="large", returns_scale=25.0),
        extreme_case(seed, 14, "|log-ratio| up to 20, float64", F64, {"clip_eps": 0.1}),
        extreme_case(seed, 15, "|log-ratio| up to 20, float32", torch.float32, {}),
        # 0 < tokens < B: a mean of row sums over a mean row length clamped at 1 differs only here
        ppo_case(seed, 17, "fewer response tokens than rows", 3, 4, F64, "float", {}, lengths=[1, 0, 0]),
        # an early return for an empty batch must keep the dtype, and a bool mask's empty mean is 0 too
        ppo_case(seed, 18, "no response token, float64, bool mask", 2, 3, F64, "bool", {}, lengths=[0, 0]),
        # The ends of the options' ranges, where code takes shortcuts: vf_coef = 0 (a critic trained
        # elsewhere; `vf_coef or 0.1`, value_loss skipped or left without its graph), ε ≥ 1 and ε = 1
        # exactly (no lower bound: log(1 - ε) is NaN or raises; 1/(1 + ε) is not the contract's
        # bound, so ratios far below it with A < 0 in even rows), ε = ε_v = inf (no clipping at
        # all), and each inf with the other finite (one switch for both clips is wrong).
        int_width(ppo_case(seed, 19, "vf_coef = 0", 3, 6, F64, "int",
                           {"clip_eps": 0.15, "value_clip_eps": 0.3, "vf_coef": 0.0}, lengths=[6, 4, 1]), "int16"),
        int_width(ppo_case(seed, 20, "clip_eps ≥ 1", 3, 6, f32, "int", {"clip_eps": 1.5, "vf_coef": 0.5},
                           lengths=[6, 2, 5], adv="rows", low_ratios=True), "uint8"),
        ppo_case(seed, 26, "clip_eps = 1", 4, 6, F64, "float",
                 {"clip_eps": 1.0, "value_clip_eps": 0.3, "vf_coef": 0.25}, lengths=[5, 0, 6, 3], adv="rows",
                 low_ratios=True),
        ppo_case(seed, 21, "no clipping, ε = ε_v = inf", 3, 6, F64, "bool",
                 {"clip_eps": math.inf, "value_clip_eps": math.inf}, lengths=[5, 6, 3]),
        int_width(ppo_case(seed, 27, "ε = inf, finite ε_v", 6, 10, f32, "int",
                           {"clip_eps": math.inf, "value_clip_eps": 0.15}, lengths=[10, 8, 0, 10, 9, 7]), "int16"),
        int_width(ppo_case(seed, 28, "ε_v = inf, finite ε", 6, 10, F64, "int",
                           {"clip_eps": 0.15, "value_clip_eps": math.inf}, lengths=[10, 8, 0, 10, 9, 7]), "uint8"),
        # an empty batch under the other paths too: no clipping at all and no value term weighed
        int_width(ppo_case(seed, 30, "no response token, ε = ε_v = inf, vf_coef = 0", 2, 3, F64, "int",
                           {"clip_eps": math.inf, "value_clip_eps": math.inf, "vf_coef": 0.0}, lengths=[0, 0]), "int8"),
        # T = 1 with several rows: a value head's values.squeeze(-1) turns [B, 1] into [B], which
        # broadcasts against the mask to [B, B]
        ppo_case(seed, 22, "T=1, B=4", 4, 1, f32, "float", {}, lengths=[1, 0, 1, 1]),
        # past the usual chunk sizes (8 ... 256), where micro-batched or chunked code cuts off
        int_width(ppo_case(seed, 23, "B=33", 33, 5, f32, "int", {"value_clip_eps": 0.3}), "int8"),
        # past the largest micro-batch (256 rows) and float16's exact integers (2048): 257 rows of
        # 9 tokens, 2313 counted, an odd count that float16 rounds
        ppo_case(seed, 29, "B=257", 257, 9, f32, "float", {"vf_coef": 0.5}, lengths=[9] * 257),
        # past 1024 positions: a mean of the means of chunks of 512 or 1024 positions is not the token
        # mean (one row: code that loops over positions in Python must still finish)
        ppo_case(seed, 24, "T=1100", 1, 1100, f32, "float", {"vf_coef": 0.5}, lengths=[1037]),
        # any 0/1 pattern: a prompt before the response, gaps between a conversation's assistant turns
        ppo_case(seed, 25, "gaps inside responses", 3, 10, F64, "float", {"clip_eps": 0.1},
                 lengths=["0011100110", "1101111111", "1010100000"]),
        # Log-ratios of -7 to -20 at an ordinary scale (the extreme cases' losses of 1e6 hide a
        # floor there): a floor of the log-ratio at -7 or of the ratio at 0.01 shows in policy_loss.
        int_width(ppo_case(seed, 31, "log-ratios from -20 to -7", 4, 6, F64, "int", {"vf_coef": 0.25},
                           lengths=[6, 4, 6, 5], adv="floor", floor=True), "int32"),
    ]
