"""grpo's seeded cases and the fixed battery of edge cases.

Ratios are drawn on purpose, not at random: every case has tokens (or, under "sequence",
completions) in each region the clip distinguishes (below 1 - ε_low, inside on either side of
1, between 1 + ε_low and 1 + ε_high when they differ, above 1 + ε_high), at least 1e-3 from a
bound (1e-5 for GSPO's tiny ε), with advantages of both signs (under "sequence", the sign for
which the region decides), so the clip's mistakes show on every seed. Padding holds finite
log-probs whose log-ratios and KL are not 0, so that counting it shows too.
"""
from __future__ import annotations

import itertools
from typing import Any

import torch

from grader.checks.cases import Case, cast_mask, generator, on_grid


NAMES = ("logps", "old_logps", "ref_logps", "advantages", "mask")
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo")
LEVELS = ("token", "sequence")
WIDTHS = ("int32", "int16", "int8", "uint8")  # integer masks other than int64


def _regions(eps_low: float, eps_high: float) -> list[tuple[float, float]]:
    """Intervals of the ratio, one per way the clip can treat a token, kept off the bounds. The
    fourth (index 3), when the epsilons differ, lies between the two upper bounds 1 + ε_low and
    1 + ε_high: only code that honours the asymmetry, either way round, decides it right."""
    d = min(1e-3, eps_low / 10, eps_high / 10, (1 - eps_low) / 10)  # 1 - ε_low may be near 0 (ε_low < 1)
    lo = 1 - eps_low
    out = [(max(lo / 2, lo - 0.4), lo - d), (lo + d, 1 - d), (1 + d, 1 + min(eps_low, eps_high) - d)]
    if abs(eps_high - eps_low) > 2 * d:
        out.append((1 + min(eps_low, eps_high) + d, 1 + max(eps_low, eps_high) - d))
    top = 1 + max(eps_low, eps_high)
    out.append((top + d, top + 0.6))
    return out


def _draw_ratios(g: torch.Generator, k: torch.Tensor, regions: list[tuple[float, float]]) -> torch.Tensor:
    """Float64 ratios of k's shape; each element lies in region k[...] of `regions`."""
    lo = torch.tensor([r[0] for r in regions], dtype=torch.float64)[k]
    hi = torch.tensor([r[1] for r in regions], dtype=torch.float64)[k]
    return lo + (hi - lo) * torch.rand(k.shape, generator=g, dtype=torch.float64)


def _token_regions(rows: int, cols: int, n: int) -> torch.Tensor:
    """[rows, cols]: token (b, t) in region (b + t) mod n, so every row meets every region."""
    return (torch.arange(rows).unsqueeze(1) + torch.arange(cols).unsqueeze(0)) % n


def _sequence_regions(rows: int, n: int) -> torch.Tensor:
    """[rows, 1]: one region per completion, for the advantages' alternating signs (+ on even rows):
    the regions where the clip decides for that sign come first, so that within 4 rows a positive
    advantage meets clip-higher's 1 + ε_low .. 1 + ε_high and the ratios above 1 + ε_high or below
    1 - ε_low, and a negative one the ratios below 1 - ε_low and above 1 + ε_high."""
    below, in_low, in_high, above = 0, 1, 2, n - 1  # the order of _regions
    between = [3] if n == 5 else []
    positive = between + [above, below, in_high, in_low]
    negative = [below, above, in_low, in_high] + between
    return torch.tensor([(positive if b % 2 == 0 else negative)[b // 2 % n] for b in range(rows)]).unsqueeze(1)


def _mask(rows: list[int | str], t: int) -> torch.Tensor:
    """[B, T] float64 0/1: an int row is that many ones, then zeros (right padding); a str row is
    its own 0/1 pattern (a prompt before the completion, gaps between a conversation's turns)."""
    m = torch.zeros(len(rows), t, dtype=torch.float64)
    for i, n in enumerate(rows):
        if isinstance(n, str):
            m[i] = torch.tensor([float(c) for c in n], dtype=torch.float64)
        else:
            m[i, :n] = 1
    return m


def _spread(log_ratio: torch.Tensor, g: torch.Generator, bound: float) -> torch.Tensor:
    """Every other token's log-ratio moved out to 1.5 <= |log-ratio| <= `bound`, far from the clip,
    and each row's first two tokens to +bound and -bound: the ends of the range in every row."""
    b, t = log_ratio.shape
    far = torch.empty(b, t, dtype=torch.float64).uniform_(1.5, bound, generator=g)
    far = far * torch.where(torch.rand(b, t, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0).to(torch.float64)
    far[:, :2] = torch.tensor([bound, -bound], dtype=torch.float64)[: min(t, 2)]
    moved = (torch.arange(t) % 2 == 0) | (torch.arange(t) == 1)  # [T]
    return torch.where(moved, far, log_ratio)


def grpo_case(seed: int, salt: int, name: str, lengths: list[int | str], t: int, dtype: torch.dtype, mask: str,
              options: dict[str, Any], ref: bool = True, transposed: bool = False, extreme: bool = False,
              zero_advantage: bool = False, adv_scale: float = 1.0, wide: float = 0.0, floor: float = 0.0) -> Case:
    """`lengths`: each completion's token count, or its mask row as a 0/1 string. `mask`: "float",
    "bool", "int" (int64) or another integer width ("int32", "int16", "int8", "uint8"). `extreme`:
    log-probs near -200. `wide`: |log-ratio| up to `wide` (log-probs from -190 to -10). `floor`:
    every log-ratio between -floor and -floor / 2 and every advantage above 1, so the loss is
    -ρ·A with ρ down to e^-floor and a clamp or floor of the log-ratio shows at an O(1) loss."""
    g = generator(seed, salt)
    b = len(lengths)
    eps_low, eps_high = options.get("epsilon_low", 0.2), options.get("epsilon_high", 0.2)
    m = _mask(lengths, t)
    top, span = (100.0, 100.0) if extreme else (50.0, 100.0) if wide else (0.0, 3.0)
    logps = -(top + torch.rand(b, t, generator=g, dtype=torch.float64) * span)  # extreme: probabilities underflow
    regions = _regions(eps_low, eps_high)
    sequence = options.get("importance_sampling_level", "token") == "sequence"
    if sequence:
        # One ratio per completion, spread over its tokens with zero-mean noise on its own tokens.
        seq = _draw_ratios(g, _sequence_regions(b, len(regions)), regions).log()  # [B, 1]
        noise = 0.3 * torch.randn(b, t, generator=g, dtype=torch.float64)
        if wide:  # completions 0, 1 at a mean log-ratio of wide - 2, 2 and 3 at -(wide - 2): each sign of
            # the advantage meets both; their tokens' centred noise (within ±2) keeps them within ±wide
            seq = (wide - 2) * torch.where(torch.arange(b) // 2 % 2 == 0, 1.0, -1.0).to(torch.float64).unsqueeze(1)
            noise = noise.clamp(-1, 1)
        centred = noise - (noise * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
        log_ratio = torch.where(m.bool(), seq + centred, noise)
    else:
        log_ratio = _draw_ratios(g, _token_regions(b, t, len(regions)), regions).log()
        if wide:
            log_ratio = _spread(log_ratio, g, wide)
    if floor:
        log_ratio = -floor / 2 * (1 + torch.rand(b, t, generator=g, dtype=torch.float64))
    old = logps - log_ratio
    if wide or floor:
        # Both log-probs on a grid of 2^-12, which float32 holds exactly in [-256, 0]: code that
        # computes in float32 inside then gets the same log-ratio, not one off by 1e-5 (float32's
        # rounding near -100), which at ratios of e^40 is past float64's tolerance. The rounding
        # moves a ratio by at most 2.5e-4 of itself, inside the 1e-3 kept from the clip bounds.
        logps, old = on_grid(logps, 4096), on_grid(old, 4096)
    d = (3.0 if extreme else 1.5) * (2 * torch.rand(b, t, generator=g, dtype=torch.float64) - 1)
    adv = torch.randn(b, generator=g, dtype=torch.float64)
    adv = adv.abs().add(0.1) * torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64)  # both signs
    if adv_scale > 1:  # advantages not normalised (scale "none" on rewards far from 0), one at 50
        adv = adv_scale * adv
        adv[0] = 50.0
    if floor:  # A ≥ 1: a floor at -10 moves the loss by 4e-5 or more, 30× float64's tolerance there
        adv = adv.abs() + 1
    if zero_advantage:
        adv[-1] = 0.0  # a group whose rewards were all equal
    # Every log-prob within the stated [-200, 0]: one shift of the three keeps the log-ratio and d.
    three = torch.stack([logps, old, logps + d])  # [3, B, T]
    logps, old, ref_logps = three - three.amax(0).clamp(min=0) - (three.amin(0) + 200).clamp(max=0)
    inputs = {"logps": logps, "old_logps": old, "ref_logps": ref_logps, "advantages": adv, "mask": m}
    inputs = {k: v.to(dtype) for k, v in inputs.items()}  # a float mask too: it is in the inputs' dtype
    if mask != "float":
        inputs["mask"] = cast_mask(m, "int" if mask in WIDTHS else mask)
    if not ref:
        del inputs["ref_logps"]
    rows = "mask rows" if any(isinstance(n, str) for n in lengths) else "lengths"
    # a long 0/1 row is shown by its count
    shown = [n if not isinstance(n, str) or len(n) <= 12 else f"{n.count('1')} tokens over {len(n)}" for n in lengths]
    shown = shown if b <= 8 else f"[{lengths[0]}, {lengths[1]}, ..., {lengths[-1]}]"
    note = f"B={b}, T={t}, {str(dtype)[6:]}, {mask} mask, {rows} {shown}" + \
        ("" if ref else ", ref_logps=None") + "".join(f", {k}={v}" for k, v in options.items())
    # transposed: a transpose's strides, on which .view() raises; the [B] advantages x[1::2] of a
    # longer vector (a column of a [B, k] buffer), which code reading B elements from the first
    # one (a kernel taking a raw pointer with stride 1) reads wrong
    layout = {k: "transposed" for k in inputs} if transposed else {}
    if mask in WIDTHS:  # an integer mask of any width (grader.checks.cases.LAYOUTS)
        assert not transposed, "a transposed case passes its mask as it is"
        layout["mask"] = mask
    extreme = extreme or wide > 0  # magnitudes past the typical: judged by the stability check
    return Case(name, inputs, options, extreme=extreme, scale=10.0 if extreme else 1.0, note=note, layout=layout,
                absent={} if ref else {"ref_logps": NAMES.index("ref_logps")})


def make_cases(seed: int) -> list[Case]:
    f32, f64 = torch.float32, torch.float64
    seq = {"importance_sampling_level": "sequence"}
    cases = [
        # The fixed battery: the same shapes, options and layouts at every seed. Every integer
        # width of the mask and bool meet float32 and float64 inputs on a batch with tokens.
        grpo_case(seed, 1, "defaults, padded", [7, 3, 5, 1], 7, f32, "float", {}),
        grpo_case(seed, 2, "B=1, T=1", [1], 1, f64, "int", {}),
        grpo_case(seed, 3, "T=1", [1, 0, 1], 1, f32, "bool", {"beta": 0.1}),
        grpo_case(seed, 4, "an empty row", [5, 0, 2], 5, f64, "uint8", {"loss_type": "grpo"}, zero_advantage=True),
        grpo_case(seed, 5, "B == T", [5, 4, 2, 3, 1], 5, f32, "float", {}),
        grpo_case(seed, 6, "non-contiguous inputs", [6, 2, 4, 3], 6, f32, "float", {"loss_type": "bnpo"},
                  transposed=True),
        grpo_case(seed, 7, "beta=0 without a reference model", [6, 3, 1, 4], 6, f64, "int8", {"beta": 0.0},
                  ref=False),
        grpo_case(seed, 8, "bnpo", [8, 5, 2, 7], 8, f64, "bool", {"loss_type": "bnpo", "beta": 0.2}),
        grpo_case(seed, 9, "dr_grpo, max_completion_length > T", [6, 1, 4, 5], 6, f32, "uint8",
                  {"loss_type": "dr_grpo", "max_completion_length": 9}),
        grpo_case(seed, 19, "dr_grpo, an empty row, no row reaches T", [4, 2, 0, 3], 6, f64, "float",
                  {"loss_type": "dr_grpo"}),
        grpo_case(seed, 10, "grpo, sequence", [6, 2, 0, 4], 6, f32, "float", {**seq}),
        grpo_case(seed, 11, "bnpo, sequence", [7, 3, 6], 7, f64, "int32", {"loss_type": "bnpo", **seq},
                  zero_advantage=True),
        grpo_case(seed, 12, "dr_grpo, sequence", [5, 2, 4, 1], 5, f32, "bool", {"loss_type": "dr_grpo", **seq}),
        grpo_case(seed, 13, "epsilon_high > epsilon_low", [8, 6, 7, 3], 8, f32, "float",
                  {"epsilon_low": 0.2, "epsilon_high": 0.28}),
        grpo_case(seed, 14, "GSPO's epsilons", [6, 4, 5, 2, 6], 6, f64, "float",
                  {"epsilon_low": 3e-4, "epsilon_high": 4e-4, "loss_type": "bnpo", **seq}),
        grpo_case(seed, 15, "log-probs near -200, float32", [6, 3, 5], 6, f32, "float", {"beta": 0.1}, extreme=True),
        grpo_case(seed, 16, "log-probs near -200, float64, sequence", [5, 5, 2], 5, f64, "int", {**seq},
                  extreme=True),
        grpo_case(seed, 21, "beta=0 with a reference model", [4, 2, 3], 4, f64, "float", {"beta": 0.0}),
        grpo_case(seed, 22, "dr_grpo, max_completion_length == T", [5, 2, 4], 5, f32, "float",
                  {"loss_type": "dr_grpo", "max_completion_length": 5}),
        grpo_case(seed, 23, "advantages far from ±1", [5, 3, 4], 5, f64, "float", {"beta": 0.04}, adv_scale=20.0),
        # beta = 0 (no KL term: code may take another path) with every other option set
        grpo_case(seed, 27, "beta=0, dr_grpo, sequence, every option set", [5, 2, 4], 5, f32, "float",
                  {"loss_type": "dr_grpo", "beta": 0.0, "epsilon_low": 0.15, "epsilon_high": 0.25,
                   "max_completion_length": 7, **seq}, ref=False),
        grpo_case(seed, 28, "beta=0, bnpo, every option set", [6, 3, 5, 1], 6, f64, "int16",
                  {"loss_type": "bnpo", "beta": 0.0, "epsilon_low": 0.1, "epsilon_high": 0.28,
                   "max_completion_length": 8}),
        grpo_case(seed, 29, "log-probs near -200, float32, sequence", [6, 4, 2], 6, f32, "float", {**seq},
                  extreme=True),
        grpo_case(seed, 30, "fewer response tokens than rows", [1, 0, 0], 3, f64, "float",
                  {"loss_type": "bnpo", "beta": 0.1}),
        grpo_case(seed, 32, "sequence, bool mask, an empty row", [3, 0, 2], 3, f32, "bool", {**seq}),
        # |log-ratio| up to the stated 40 (stale samples, an inference engine's own log-probs): a
        # safety clamp at ±20 (verl's) or a dual clip capping -A·ρ at -3·A when A < 0 (verl's
        # clip_ratio_c) changes the loss. Under "sequence" over 300 tokens a completion's summed
        # log-ratio overflows even float64: exp(sum) ** (1 / |o|) is inf where exp(mean) is not.
        grpo_case(seed, 33, "|log-ratio| up to 40, float32", [6, 4, 5, 2], 6, f32, "float", {"beta": 0.1}, wide=40.0),
        grpo_case(seed, 34, "|log-ratio| up to 40, float64, bnpo", [5, 5, 3, 4], 5, f64, "int",
                  {"loss_type": "bnpo", "epsilon_high": 0.28}, wide=40.0),
        grpo_case(seed, 35, "|log-ratio| up to 40, float32, sequence, T=300", [300, 257, 12, 290], 300, f32, "float",
                  {**seq}, wide=40.0),
        grpo_case(seed, 36, "|log-ratio| up to 40, float64, dr_grpo, sequence", [5, 2, 4, 5], 5, f64, "bool",
                  {"loss_type": "dr_grpo", **seq}, wide=40.0),
        # past the usual chunk sizes (8 ... 256), where micro-batched or chunked code cuts off
        grpo_case(seed, 37, "B=33", [(7 * i) % 6 for i in range(33)], 5, f32, "int16", {"beta": 0.1}),
        # past 1024 positions: a mean of the results of chunks of 512 or 1024 positions is not the loss
        # (one row, a token every 20 positions, 4 of them past 1024: code that loops over tokens in
        # Python must still finish)
        grpo_case(seed, 38, "T=1100, dr_grpo", ["".join("1" if t % 20 == 7 else "0" for t in range(1100))], 1100, f32,
                  "float", {"loss_type": "dr_grpo"}),
        # any 0/1 pattern: a prompt before the completion, gaps between a conversation's turns (and
        # under "sequence" the mean log-ratio over the completion's own tokens, wherever they are)
        grpo_case(seed, 39, "gaps inside completions", ["0011100110", "1101111111", "1010100000", "0111111110"], 10,
                  f64, "float", {"beta": 0.1}),
        grpo_case(seed, 40, "gaps inside completions, sequence", ["1101111011", "0000000000", "0110001110"], 10,
                  f32, "bool", {"loss_type": "bnpo", **seq}),
    ]
    # Every loss_type under each level meets asymmetric epsilons, beta off its default and
    # max_completion_length (read by "dr_grpo" alone), then beta = 0 without a reference and
    # epsilon_low set alone (epsilon_high stays 0.2: TRL's None, "equal to epsilon", is not this
    # contract's default): an option honoured in one combination only (epsilon_high under "dr_grpo",
    # a fast path for "grpo" + "sequence") shows.
    shapes = [([6, 2, 5, 3], 6), ([5, 3, 0, 4], 5), ([7, 4, 6], 7)]
    for k, (loss_type, level) in enumerate(itertools.product(LOSS_TYPES, LEVELS)):
        lengths, t = shapes[k % 3]
        combo = {"loss_type": loss_type, "importance_sampling_level": level}
        cases.append(grpo_case(seed, 60 + k, f"{loss_type}, {level}, every option set", lengths, t, (f64, f32)[k % 2],
                               ("float", "int", "bool")[k % 3],
                               {**combo, "beta": 0.1, "epsilon_low": 0.15, "epsilon_high": 0.28,
                                "max_completion_length": t + 3}))
        cases.append(grpo_case(seed, 70 + k, f"{loss_type}, {level}, beta=0 without a reference, epsilon_low alone",
                               lengths, t, (f32, f64)[k % 2], ("bool", "float", "int")[k % 3],
                               {**combo, "beta": 0.0, "epsilon_low": 0.1}, ref=False))
        # epsilon_high below epsilon_low, beta = 0 with a reference (mean_kl still reported), an empty
        # row and a group with A = 0 (it still counts in B); under "sequence" non-contiguous inputs
        cases.append(grpo_case(seed, 80 + k, f"{loss_type}, {level}, epsilon_high < epsilon_low, beta=0 with a "
                               "reference, an empty row, A=0", [5, 0, 3, 4], 5, (f32, f64)[k % 2],
                               ("uint8", "float", "int8", "float", "int32", "float")[k],
                               {**combo, "beta": 0.0, "epsilon_low": 0.3, "epsilon_high": 0.1},
                               zero_advantage=True, transposed=level == "sequence"))
        # no response token at all: every count clamped to 1, under every normaliser and level
        cases.append(grpo_case(seed, 90 + k, f"no response token, {loss_type}, {level}", [0, 0], 3, (f32, f64)[k % 2],
                               ("float", "bool", "int8", "uint8", "int32", "bool")[k],
                               {**combo, "beta": (0.04, 0.0)[k // 2 % 2]}))
    # B = 257 rows of unequal counts: past micro-batches of up to 256 rows (a token mean per
    # micro-batch is not the batch's) and past float16's exact integers (2048): "bnpo" over 2061
    # tokens, "dr_grpo" over B·L = 2313. T stays small where the count does not need it: code
    # that loops over tokens in Python must still finish.
    big = [("grpo", "token", 3, [(i // 5) % 4 for i in range(257)], {}),
           ("bnpo", "token", 9, [9 - (i // 7) % 3 for i in range(257)], {}),
           ("dr_grpo", "sequence", 3, [3 - (i // 7) % 3 for i in range(257)], {"max_completion_length": 9})]
    for k, (loss_type, level, t, lengths, more) in enumerate(big):
        cases.append(grpo_case(seed, 110 + k, f"B=257, {loss_type}, {level}", lengths, t, f32, ("int8", "float")[k % 2],
                               {"loss_type": loss_type, "importance_sampling_level": level, **more}))
    # the ends of the epsilons' ranges: epsilon_low near 1 (ratios down to 0.005), epsilon_high far above it
    cases += [
        grpo_case(seed, 120, "epsilon_low 0.99, epsilon_high 2", [6, 3, 5, 2], 6, f64, "float",
                  {"epsilon_low": 0.99, "epsilon_high": 2.0}),
        grpo_case(seed, 121, "epsilon_low 0.99, epsilon_high 10, bnpo, sequence", [5, 2, 4, 5], 5, f32, "bool",
                  {"epsilon_low": 0.99, "epsilon_high": 10.0, "loss_type": "bnpo", **seq}),
    ]
    # log-ratios from -20 to -10 with advantages above 1: the loss is small (the KL's), so its value
    # shows a floor of the log-ratio (e^-10 = 4.5e-5 per unit of A) that the wide cases' 1e16 hide
    cases += [grpo_case(seed, 130 + k, f"log-ratios from -20 to -10, {level}", [6, 3, 5], 6, f64, "float",
                        {"importance_sampling_level": level}, floor=20.0) for k, level in enumerate(LEVELS)]
    # Seeded: sizes, lengths, options and dtypes that differ from seed to seed.
    g = generator(seed, 100)
    for salt in (17, 18):
        b, t = (int(torch.randint(2, 7, (1,), generator=g)), int(torch.randint(2, 11, (1,), generator=g)))
        lengths = [int(x) for x in torch.randint(0, t + 1, (b,), generator=g)]
        lengths[0] = t
        pick = lambda xs: xs[int(torch.randint(0, len(xs), (1,), generator=g))]
        options = {"loss_type": pick(["grpo", "bnpo", "dr_grpo"]), "importance_sampling_level": pick(["token", "sequence"]),
                   "beta": pick([0.0, 0.04, 0.3]), "epsilon_high": pick([0.2, 0.28])}
        cases.append(grpo_case(seed, salt, f"random {salt - 16}", lengths, t, pick([f32, f64]),
                               pick(["float", "int", "bool", *WIDTHS]), options))
    return cases
