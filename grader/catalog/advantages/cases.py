"""advantages: the seeded cases of both functions and their bad inputs.

Every seed runs the same battery of edge cases (an equal group, B = G, G = 2, groups of
different means and spreads, binary rewards under every scale, a non-contiguous input, rewards
near 1e4, a group of 257) with seeded values, plus seeded random shapes: a mistake that shows
only on a structure (strided groups need groups with different means) shows at every seed.
"""
from __future__ import annotations

from typing import Any

import torch

from grader.catalog.advantages.behaviour import _groups
from grader.checks.cases import Case, generator, with_layout

F64, F32 = torch.float64, torch.float32


def _case(name: str, rewards: torch.Tensor, g: torch.Generator, options: dict[str, Any], note: str,
          extreme: bool = False, scale: float = 1.0) -> Case:
    upstream = torch.randn(rewards.shape[0], generator=g, dtype=F64)
    opts = "".join(f", {k}={v!r}" for k, v in options.items() if k != "group_size")
    return Case(name, {"rewards": rewards}, options, extreme=extreme, scale=scale, upstream=upstream,
                note=f"B={rewards.shape[0]}, G={options['group_size']}, {str(rewards.dtype)[6:]}{opts}, {note}")


def _random_case(seed: int, salt: int, name: str, scales: tuple[str | None, ...]) -> Case:
    """Seeded shape and scale: G in 2..8, 1 to 4 groups, means and spreads drawn per group."""
    g = generator(seed, salt)
    size = int(torch.randint(2, 9, (1,), generator=g))
    n = int(torch.randint(1, 5, (1,), generator=g))
    dtype = (F32, F64)[int(torch.randint(0, 2, (1,), generator=g))]
    spreads = 0.1 + 3 * torch.rand(n, generator=g, dtype=F64)
    means = (spreads * torch.randn(n, generator=g, dtype=F64)).tolist()  # within a few spreads of 0
    spreads = spreads.tolist()
    options: dict[str, Any] = {"group_size": size}
    pick = scales[int(torch.randint(0, len(scales), (1,), generator=g))]
    if pick is not None:
        options["scale"] = pick
    return _case(name, _groups(g, means, spreads, size, dtype), g, options, "seeded shape")


def _extreme(seed: int, salt: int, name: str, dtype: torch.dtype, options: dict[str, Any],
             means: list[float] | None = None) -> Case:
    """Rewards near ±1e4 with spreads of about 1 (summed log-probs as rewards). Rounding the
    inputs alone moves an advantage by up to ulp(1e4)/spread, about 1e-3 in float32, so these
    cases allow an absolute error of atol · scale (1e-2 in float32, 1e-3 in float64). Group
    means within a few units of each other (`means`) give a batch spread of about 1 too, where
    the variance taken as E[r²] - E[r]² cancels to noise."""
    g = generator(seed, salt)
    size = options["group_size"]
    means = means or [1e4 - 3, -1e4 + 2, 1e4 + 5, 9.9e3]
    rewards = _groups(g, means, [(1.0, 2.0, 0.5, 1.5)[k % 4] for k in range(len(means))], size, dtype)
    return _case(name, rewards, g, options, "rewards near ±1e4", extreme=True, scale=1e3)


# Group means and spreads of the B = 33 cases, cycled: means within a few units of each other.
_STEPS = (-2.0, 0.0, 3.0, -1.0, 1.0)
_SPREADS = (0.5, 1.0, 2.0, 1.5, 0.8)


def _cycled(g: torch.Generator, n: int, size: int, dtype: torch.dtype) -> torch.Tensor:
    """[n · size] rewards: n groups whose means and spreads cycle through _STEPS and _SPREADS."""
    return _groups(g, [_STEPS[k % 5] for k in range(n)], [_SPREADS[k % 5] for k in range(n)], size, dtype)


def _many_groups_near_1e4(seed: int, salt: int) -> Case:
    """512 float32 rewards in 128 groups of 4, every group near +1e4: a batch of real size, whose
    running total reaches 5e6. Group sums taken as differences of one cumsum over the batch carry
    that total's rounding (ulp(5e6) = 0.5) into every later group's mean, off by 0.07 or more
    at every one of 25 seeds; the reference stays within 2e-3 of exact arithmetic, inside
    _extreme's tolerance of 1e-2. The means are drawn, not round numbers: a group sum near an
    integer would be exact in float32 at the end of each group, and a cumsum accumulated in
    float64 (torch's on CPU) would lose nothing."""
    # one sign, so the running total only grows; within ±2.5 of 1e4, so the batch's spread is a few units
    means = (1e4 + 5 * torch.rand(128, generator=generator(seed, salt + 500), dtype=F64) - 2.5).tolist()
    return _extreme(seed, salt, "many groups near 1e4, float32", F32, {"group_size": 4}, means=means)


# ---------------------------------------------------------------- group_advantages cases
def group_cases(seed: int) -> list[Case]:
    g = lambda salt: generator(seed, salt)
    equal = g(2)
    equal_rewards = torch.cat([torch.ones(3, dtype=F64), torch.randn(3, generator=equal, dtype=F64)])
    long = _groups(g(10), [1.0, -2.0], [0.5, 2.0], 6, F32)
    bad_batch = g(9)
    return [
        _case("groups of different spreads", _groups(g(1), [-2.0, 0.0, 3.0], [0.1, 1.0, 5.0], 4, F32), g(1),
              {"group_size": 4}, "3 groups, spreads 0.1, 1, 5, default scale"),
        _case("a group of equal rewards", equal_rewards, equal, {"group_size": 3}, "group 0 all 1.0"),
        _case("B = G", _groups(g(3), [0.5], [1.0], 5, F32), g(3), {"group_size": 5}, "one group"),
        _case("group_size 2", _groups(g(4), [1.0, -1.0, 2.0, 0.0], [1.0, 0.3, 2.0, 0.7], 2, F64), g(4),
              {"group_size": 2}, "4 groups of 2"),
        _case("batch scale", _groups(g(5), [-3.0, 1.0, 4.0, 0.0], [0.5, 2.0, 1.0, 0.2], 3, F64), g(5),
              {"group_size": 3, "scale": "batch"}, "groups of different means"),
        _case("no scaling", _groups(g(6), [2.0, -1.0, 0.0], [1.0, 3.0, 0.2], 3, F32), g(6),
              {"group_size": 3, "scale": "none", "eps": 1e-2}, "Dr. GRPO: eps unused"),
        _case("tiny spreads, eps=1e-2", _groups(g(7), [0.0, 0.0], [1e-3, 2e-3], 4, F64), g(7),
              {"group_size": 4, "eps": 1e-2}, "spreads 1e-3, where eps decides"),
        # every scale that divides by a spread meets a non-default eps where it decides
        _case("batch scale, tiny spreads, eps=1e-2", _groups(g(15), [0.0, 1e-3], [1e-3, 2e-3], 4, F64), g(15),
              {"group_size": 4, "scale": "batch", "eps": 1e-2}, "batch spread about 1e-3, where eps decides"),
        # 0/1 rewards under every scale: a Bernoulli shortcut for the spread, sqrt(p(1 - p)), is
        # the population std, off by sqrt(n/(n - 1)) wherever the contract's std is Bessel's.
        _binary(seed, 8, F32, {"group_size": 8, "scale": "group"}),
        _binary(seed, 17, F64, {"group_size": 8, "scale": "batch"}),
        _binary(seed, 21, F32, {"group_size": 4, "scale": "none"}),
        _case("batch scale, all rewards equal", torch.full((4,), 0.5, dtype=F32), bad_batch,
              {"group_size": 2, "scale": "batch"}, "zeros, not NaN"),
        with_layout(_case("", long[::2].clone(), g(10), {"group_size": 3}, "rewards[1::2] of a longer tensor"),
                    "non-contiguous rewards", rewards="strided"),
        _random_case(seed, 11, "seeded 1", (None, "group", "batch", "none")),
        _random_case(seed, 12, "seeded 2", (None, "batch", "none")),
        _extreme(seed, 13, "near 1e4, float32", F32, {"group_size": 4}),
        _extreme(seed, 14, "near 1e4, float64", F64, {"group_size": 8, "scale": "batch"}),
        _extreme(seed, 16, "batch scale, near 1e4 of one sign, float32", F32, {"group_size": 4, "scale": "batch"},
                 means=[1e4 - 1, 1e4 + 1, 1e4, 1e4 + 2]),
        _case("batch scale, a group of equal rewards", torch.tensor([1.0] * 4 + [0.0, 1.0, 2.0, 3.0], dtype=F64),
              g(18), {"group_size": 4, "scale": "batch"}, "the equal group counts in the batch's spread"),
        # Past the usual chunk sizes: 33 rows (11 groups of 3), and a batch of 512 near 1e4.
        _case("B = 33", _cycled(g(19), 11, 3, F32), g(19), {"group_size": 3, "scale": "batch"}, "11 groups of 3"),
        _many_groups_near_1e4(seed, 20),
        *_past_micro_batches(seed, 31, {"scale": "batch"}),
    ]


def _binary(seed: int, salt: int, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """Pass/fail rewards (verifiable rewards): 16 of 0/1 in groups of G, group 0 all right, the
    last group half right at random places (so that the batch is never all equal), the others
    random right and wrong."""
    g = generator(seed, salt)
    size = options["group_size"]
    bits = (torch.rand(16, generator=g) < 0.5).to(dtype)
    bits[:size] = 1.0
    bits[-size:] = (torch.randperm(size, generator=g) < size // 2).to(dtype)
    return _case(f"binary rewards, scale {options.get('scale', 'default')}", bits, g, options,
                 "0/1 rewards, group 0 all 1")


def _past_micro_batches(seed: int, salt: int, options: dict[str, Any]) -> list[Case]:
    """Rows past a micro-batch of 256, at ordinary magnitudes (float32): B = G = 257, one group
    that a split into micro-batches cuts, and B = 2049 (683 groups of 3, with `options`), a count
    that float16 cannot hold (2049 rounds to 2048) and that 256-row micro-batches cut mid-group.
    The one group of 257 (the only G >= 64) has a mean and a spread that half precision rounds
    by 1e-3 (bfloat16) and 2e-4 (float16), beyond float32's rtol of 1e-4: statistics of a large
    group taken in half precision show (a spread of 0.5, exact in either, hid them)."""
    g = lambda k: generator(seed, salt + k)
    one = _groups(g(0), [-1.8372], [0.7137], 257, F32)
    return [_case("B = G = 257", one, g(0), {"group_size": 257}, "one group, mean -1.8372, spread 0.7137"),
            _case("B = 2049", _cycled(g(1), 683, 3, F32), g(1), {"group_size": 3, **options}, "683 groups of 3")]


def _bad(name: str, rewards: torch.Tensor, options: dict[str, Any]) -> Case:
    return Case(name, {"rewards": rewards}, options)


def _bad_shapes(r: torch.Tensor) -> tuple[tuple[str, torch.Tensor, int], ...]:
    """Rewards of 12 that no group_size splits as the contract says: 2-D (one column, or already
    grouped [n, G] as OpenRLHF and verl hold them) and 3-D (a reward head's [n, G, 1]), a group of
    1 or of a negative size, B not a multiple of G."""
    return (("rewards [B, 1]", r.reshape(12, 1), 4), ("rewards [n, G]", r.reshape(3, 4), 4),
            ("rewards [n, G, 1]", r.reshape(3, 4, 1), 4), ("group_size 1", r, 1), ("B=12, group_size 5", r, 5),
            # negative sizes that divide B (12 % -4 == 0): a divisibility test alone takes them
            ("group_size -4", r, -4), ("group_size -1", r, -1))


def group_bad_inputs(seed: int) -> list[Case]:
    g = generator(seed, 90)
    r = torch.randn(12, generator=g)
    return [
        *[_bad(name, x, {"group_size": size}) for name, x, size in _bad_shapes(r)],
        _bad("rewards 0-dim", r[0], {"group_size": 2}),
        _bad("group_size 0", r, {"group_size": 0}),
        _bad("B=12, group_size 24", r, {"group_size": 24}),
        _bad("scale 'std'", r, {"group_size": 4, "scale": "std"}),
        _bad("scale 'Group'", r, {"group_size": 4, "scale": "Group"}),
        _bad("scale 'batch '", r, {"group_size": 4, "scale": "batch "}),  # a strip() would take these
        _bad("scale 'none_'", r, {"group_size": 4, "scale": "none_"}),  # a prefix match this
        _bad("scale 'None'", r, {"group_size": 4, "scale": "None"}),
        _bad("scale None", r, {"group_size": 4, "scale": None}),
        # prefixes and the empty string: what a startswith or an `in` test takes
        *[_bad(f"scale {scale!r}", r, {"group_size": 4, "scale": scale}) for scale in ("", "g", "bat", "no")],
        # what ports keep: TRL's old boolean scale_rewards, OpenRLHF's estimator names
        *[_bad(f"scale {scale!r}", r, {"group_size": 4, "scale": scale})
          for scale in (True, False, "group_norm", "dr_grpo")],
        # every shape rule holds under every scale, not only at the default
        *[_bad(f"{name}, scale {scale!r}", x, {"group_size": size, "scale": scale})
          for scale in ("batch", "none")
          for name, x, size in _bad_shapes(r)],
    ]


# ---------------------------------------------------------------- rloo_advantages cases
def rloo_cases(seed: int) -> list[Case]:
    g = lambda salt: generator(seed, salt)
    equal = g(22)
    equal_rewards = torch.cat([torch.randn(4, generator=equal, dtype=F64), torch.full((4,), 2.0, dtype=F64)])
    long = _groups(g(25), [1.0, -2.0], [0.5, 2.0], 6, F64)
    return [
        _case("groups of different means", _groups(g(21), [-2.0, 0.0, 3.0], [0.3, 1.0, 4.0], 4, F32), g(21),
              {"group_size": 4}, "3 groups"),
        _case("a group of equal rewards", equal_rewards, equal, {"group_size": 4}, "group 1 all 2.0"),
        _case("B = G", _groups(g(23), [1.0], [1.0], 5, F32), g(23), {"group_size": 5}, "one group"),
        _binary(seed, 32, F64, {"group_size": 4}),
        _case("group_size 2", _groups(g(24), [0.0, 3.0, -1.0], [1.0, 0.5, 2.0], 2, F64), g(24),
              {"group_size": 2}, "3 groups of 2"),
        with_layout(_case("", long[1::2].clone(), g(25), {"group_size": 3}, "rewards[1::2] of a longer tensor"),
                    "non-contiguous rewards", rewards="strided"),
        _random_case(seed, 26, "seeded 1", (None,)),
        _random_case(seed, 27, "seeded 2", (None,)),
        _extreme(seed, 28, "near 1e4, float32", F32, {"group_size": 4}),
        # Past the usual chunk sizes: 33 rows (11 groups of 3), and a batch of 512 near 1e4.
        _case("B = 33", _cycled(g(29), 11, 3, F64), g(29), {"group_size": 3}, "11 groups of 3"),
        _many_groups_near_1e4(seed, 30),
        *_past_micro_batches(seed, 33, {}),
    ]


def rloo_bad_inputs(seed: int) -> list[Case]:
    g = generator(seed, 91)
    r = torch.randn(12, generator=g)
    return [
        *[_bad(name, x, {"group_size": size}) for name, x, size in _bad_shapes(r)],
        _bad("rewards 0-dim", r[0], {"group_size": 2}),
        _bad("group_size 0", r, {"group_size": 0}),
        _bad("B=12, group_size 24", r, {"group_size": 24}),
    ]
