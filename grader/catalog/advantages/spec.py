"""advantages: two functions graded with the same checks, their cases, the mistakes' models,
and the behaviour run.

Every seed runs the same battery of edge cases (an equal group, B = G, G = 2, groups of
different means and spreads, binary rewards, a non-contiguous input, rewards near 1e4)
with seeded values, plus seeded random shapes: a mistake that shows only on a structure
(strided groups need groups with different means) shows at every seed.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.advantages.behaviour import AdvantagesBehaviour, _groups
from grader.catalog.advantages.conventions import GROUP_CONVENTIONS, RLOO_CONVENTIONS
from grader.checks.cases import Case, generator, with_layout
from grader.checks.function import FunctionSpec, Param
from grader.checks.multi import FunctionsSpec

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
    binary = g(8)
    bits = (torch.rand(16, generator=binary) < 0.5).float()
    bits[:8] = 1.0  # group 0: every completion right; group 1: random right and wrong
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
        _case("binary rewards", bits, binary, {"group_size": 8, "scale": "group"}, "0/1 rewards, group 0 all 1"),
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


def _past_micro_batches(seed: int, salt: int, options: dict[str, Any]) -> list[Case]:
    """Rows past a micro-batch of 256, at ordinary magnitudes (float32): B = G = 257, one group
    that a split into micro-batches cuts, and B = 2049 (683 groups of 3, with `options`), a count
    that float16 cannot hold (2049 rounds to 2048) and that 256-row micro-batches cut mid-group."""
    g = lambda k: generator(seed, salt + k)
    return [_case("B = G = 257", _cycled(g(0), 1, 257, F32), g(0), {"group_size": 257}, "one group"),
            _case("B = 2049", _cycled(g(1), 683, 3, F32), g(1), {"group_size": 3, **options}, "683 groups of 3")]


def _bad(name: str, rewards: torch.Tensor, options: dict[str, Any]) -> Case:
    return Case(name, {"rewards": rewards}, options)


def _bad_shapes(r: torch.Tensor) -> tuple[tuple[str, torch.Tensor, int], ...]:
    """Rewards of 12 that no group_size splits as the contract says: 2-D (one column, or already
    grouped [n, G] as OpenRLHF and verl hold them), a group of 1, B not a multiple of G."""
    return (("rewards [B, 1]", r.reshape(12, 1), 4), ("rewards [n, G]", r.reshape(3, 4), 4),
            ("group_size 1", r, 1), ("B=12, group_size 5", r, 5))


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


# ---------------------------------------------------------------- mistake models
def _group_adv(rewards, group_size, scale="group", eps=1e-4, *, group_std=None, batch_std=None,
               batch_mean=False, strided=False, add_eps=(True, True)):
    """group_advantages with one convention changed; each keyword names what a mistake changes."""
    r = rewards.detach()
    x = r.reshape(group_size, -1).T if strided else r.reshape(-1, group_size)  # [B/G, G]
    mean = r.mean() if scale == "batch" and batch_mean else x.mean(1, keepdim=True)
    a = x - mean
    if scale == "group":
        std = (group_std or (lambda t: t.std(1, keepdim=True)))(x)
        a = a / (std + eps) if add_eps[0] else a / std
    elif scale == "batch":
        std = (batch_std or (lambda t: t.std()))(r)
        a = a / (std + eps) if add_eps[1] else a / std
    return (a.T if strided else a).reshape(-1)


def _population(*a, **k):
    pop_group, pop_batch = (lambda t: t.std(1, keepdim=True, correction=0)), (lambda t: t.std(correction=0))
    return [{"advantages": _group_adv(*a, **k, group_std=pop_group, batch_std=pop_batch)},
            {"advantages": _group_adv(*a, **k, group_std=pop_group)},
            {"advantages": _group_adv(*a, **k, batch_std=pop_batch)}]


def _batch_for_group(rewards, group_size, scale="group", eps=1e-4):
    whole = lambda t: rewards.detach().std().expand(t.shape[0], 1)
    out = [{"advantages": _group_adv(rewards, group_size, scale, eps, group_std=whole)}]
    if scale == "group":  # or the whole batch's mean and std
        r = rewards.detach()
        out.append({"advantages": (r - r.mean()) / (r.std() + eps)})
    else:
        out.append(out[0])
    return out


def _eps_in_variance(rewards, group_size, scale="group", eps=1e-4):
    """a / sqrt(var + eps) everywhere, or only for 'group'."""
    group = lambda t: (t.var(1, keepdim=True) + eps).sqrt()
    batch = lambda t: (t.var() + eps).sqrt()
    return [{"advantages": _group_adv(rewards, group_size, scale, 0.0, group_std=group, batch_std=batch)},
            {"advantages": _group_adv(rewards, group_size, scale, eps, group_std=lambda t: group(t) - eps)}]


def _naive_std(t: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """sqrt(E[t²] - E[t]²) with Bessel's correction: cancels catastrophically far from 0."""
    n = t.shape[dim] if dim is not None else t.numel()
    m2 = (t * t).mean(dim, keepdim=True) if dim is not None else (t * t).mean()
    m = t.mean(dim, keepdim=True) if dim is not None else t.mean()
    return ((m2 - m * m) * n / (n - 1)).sqrt()


def _rloo(rewards, group_size, *, strided=False, divisor=None, itself=False):
    r = rewards.detach()
    x = r.reshape(group_size, -1).T if strided else r.reshape(-1, group_size)
    total = x.sum(1, keepdim=True)
    base = total / (divisor or group_size) if itself else (total - x) / (group_size - 1)
    a = x - base
    return (a.T if strided else a).reshape(-1)


GROUP_MODELS: dict[str, Callable[..., Any]] = {
    "population std instead of Bessel's": _population,
    "'batch' without subtracting the group mean":
        lambda *a, **k: {"advantages": _group_adv(*a, **k, batch_mean=True)},
    "no eps (NaN on a group of equal rewards)":
        lambda *a, **k: [{"advantages": _group_adv(*a, **k, add_eps=(False, False))},
                         {"advantages": _group_adv(*a, **k, add_eps=(False, True))}],
    # eps ignored under every scale, or under one of the two that divide (TRL's 1e-4 written in)
    "eps argument ignored": lambda r, group_size, scale="group", eps=1e-4: [
        {"advantages": _group_adv(r, group_size, scale)},
        {"advantages": _group_adv(r, group_size, scale, eps if scale == "batch" else 1e-4)},
        {"advantages": _group_adv(r, group_size, scale, eps if scale == "group" else 1e-4)}],
    "eps added to the variance": _eps_in_variance,
    "batch normalisation when 'group' is asked": _batch_for_group,
    "strided groups (view(G, -1))": lambda *a, **k: {"advantages": _group_adv(*a, **k, strided=True)},
    "variance as E[r²] - E[r]²":
        lambda *a, **k: {"advantages": _group_adv(*a, **k, group_std=lambda t: _naive_std(t, 1),
                                                  batch_std=_naive_std)},
}

RLOO_MODELS: dict[str, Callable[..., Any]] = {
    "RLOO including the reward itself in its baseline":
        lambda r, group_size: [{"advantages": _rloo(r, group_size, itself=True)},
                               {"advantages": _rloo(r, group_size, itself=True, divisor=group_size - 1)}],
    "strided groups (view(G, -1))": lambda r, group_size: {"advantages": _rloo(r, group_size, strided=True)},
}


def _part(function: str, params: tuple[Param, ...], make_cases, bad_inputs, models, conventions) -> FunctionSpec:
    return FunctionSpec(
        function=function,
        params=params,
        outputs=("advantages",),
        grad_inputs=(),
        make_cases=make_cases,
        # Passed with requires_grad, so that an output still attached to them shows as a graph.
        constants=("rewards",),
        detached=("advantages",),
        bad_inputs=bad_inputs,
        models=models,
        conventions=conventions,
    )


SPEC = FunctionsSpec(
    parts=(
        _part("group_advantages", (Param("rewards"), Param("group_size"), Param("scale", "group"),
                                   Param("eps", 1e-4)), group_cases, group_bad_inputs, GROUP_MODELS,
              GROUP_CONVENTIONS),
        _part("rloo_advantages", (Param("rewards"), Param("group_size")), rloo_cases, rloo_bad_inputs, RLOO_MODELS,
              RLOO_CONVENTIONS),
    ),
    behaviour=AdvantagesBehaviour(),
)
