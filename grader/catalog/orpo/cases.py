"""orpo: the seeded cases. The pairwise battery (grader.catalog.pair_battery) plus ORPO's own:
mean log-probs in every band of log(1 - e^m), log-odds gaps across the logistic's shortcut band,
a band side beside a likely answer (a cut-off for log(1 - e^m) shows), padding near the dtype's
largest negative number, and every integer mask width with both float dtypes."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from grader.checks.cases import Case, cast_mask, generator, response_mask, token_logps, with_layout
from grader.catalog.pairs import POLICY_NAMES, policy_case, tied
from grader.catalog.pair_battery import (batch_edges, longer_sides, strided, tall_batch, with_expanded_masks,
                                         with_far_padding, with_zeros)


def extreme_odds_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                      options: dict[str, Any]) -> Case:
    """Mean log-probs from just below 0 down to about -1000, in three kinds of rows (in turn):
    chosen memorised and rejected ruled out; the reverse; both ruled out, 50 nats apart."""
    g = generator(seed, salt)
    near_zero = lambda: -(0.001 + 0.019 * torch.rand(t, generator=g, dtype=torch.float64))  # m ≈ -0.01
    ruled_out = lambda shift=0.0: -(800 + shift + 200 * torch.rand(t, generator=g, dtype=torch.float64))  # m ≈ -900
    rows_c, rows_r = [], []
    for i in range(b):
        kind = i % 3
        rows_c.append(near_zero() if kind == 0 else ruled_out(0.0 if kind == 1 else -50.0))
        rows_r.append(ruled_out() if kind != 1 else near_zero())
    rows_c[0] = torch.full((t,), -0.001, dtype=torch.float64)  # the range's end: a mean of exactly -0.001
    pc, pr = torch.stack(rows_c).to(dtype), torch.stack(rows_r).to(dtype)
    mc = cast_mask(torch.ones(b, t), "float")
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, mean log-probs from -0.001 to -1000" + \
        "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, extreme=True, scale=10.0, note=note)


def logistic_band_case(name: str, options: dict[str, Any], t: int = 4) -> Case:
    """Rows whose log-odds gaps lo(m_c) - lo(m_r) are ±5.5, ±7, ±9 and ±11.5 (see pairs.LOGISTIC_BAND),
    every mean log-prob within the contract's range: each row's tokens share its mean, the lower
    one from -1 to -5 and the higher one placed by the gap (-0.0015 at the largest)."""
    low = torch.tensor([-5.0, -3.0, -2.0, -1.0], dtype=torch.float64)
    gap = torch.tensor([11.5, 9.0, 7.0, 5.5], dtype=torch.float64)
    log_odds = low - torch.log1p(-low.exp())
    high = F.logsigmoid(log_odds + gap)  # the mean log-prob whose log-odds sit `gap` above
    m_c, m_r = torch.cat([high, low]), torch.cat([low, high])  # the chosen above, then below
    pc, pr = m_c[:, None].expand(8, t).clone(), m_r[:, None].expand(8, t).clone()
    ones = cast_mask(torch.ones(8, t), "float")
    inputs = dict(zip(POLICY_NAMES, (pc, pr, ones, ones.clone())))
    note = f"B=8, T={t}, float64, log-odds gaps of ±5.5 to ±11.5" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def odds_band_case(name: str, options: dict[str, Any], t: int = 4) -> Case:
    """Pairs whose two mean log-probs sit close together in each band where code may take a
    shortcut for log(1 - e^m): near 0 (where 1 - e^m cancels), from -5 to -12 (where e^m looks
    negligible but is not at float64's tolerance) and from -12 down to -745 (where e^m
    underflows in float32, then in float64). The log-odds ratio of each pair is about ±1, so
    each row moves the loss and its gradient: a shortcut in any band shows."""
    pairs = torch.tensor([[-0.001, -0.002], [-0.004, -0.0025],  # near 0
                          [-5.5, -6.5], [-8.0, -7.0], [-11.5, -10.5],  # (-12, -5)
                          [-12.5, -13.5], [-80.0, -79.0], [-400.0, -401.0], [-741.0, -740.0]],  # (-750, -12)
                         dtype=torch.float64)
    b = len(pairs)
    pc, pr = pairs[:, :1].expand(b, t).clone(), pairs[:, 1:].expand(b, t).clone()
    ones = torch.ones(b, t, dtype=torch.float64)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, ones, ones.clone())))
    note = f"B={b}, T={t}, float64, pairs of mean log-probs about 1 nat apart from -0.001 to -741" + \
        "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def odds_cutoff_case(name: str, dtype: torch.dtype, options: dict[str, Any]) -> Case:
    """One side of each pair with a mean log-prob from -8 to -11.3, where log(1 - e^m) is -e^m, 3e-4
    to 1.2e-5 (code may cut it to 0 there: "e^m is negligible"), the other far from that band so the
    errors do not cancel: a likely answer (-1) against a chosen one in the band, or a chosen one 12
    nats below a rejected one in the band. Every pair's logistic is saturated the wrong way
    (σ(-x) ≈ 1), so d loss / d m is λ·lo'(m)/B = λ·(1 + e^m)/B: with λ = 10, B = 8 and T = 1 a cut-off
    is off by e^m relative, past float64's rtol of 1e-5 down to m = -11.3 and float32's 1e-4 down
    to -9 (the odds-band pairs sit 1 nat apart, both cut alike)."""
    band = (-8.05, -8.5, -9.0, -9.5, -10.0, -10.5, -11.0, -11.3)
    m_c = torch.tensor([m if i % 2 == 0 else m - 12.0 for i, m in enumerate(band)], dtype=torch.float64)
    m_r = torch.tensor([-1.0 if i % 2 == 0 else m for i, m in enumerate(band)], dtype=torch.float64)
    ones = torch.ones(len(band), 1, dtype=dtype)
    inputs = dict(zip(POLICY_NAMES, (m_c[:, None].to(dtype), m_r[:, None].to(dtype), ones, ones.clone())))
    note = f"B={len(band)}, T=1, {str(dtype)[6:]}, one side of each pair from -8 to -11.3, the other at -1 or " \
        "12 nats below" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


LONG_T = 4200  # past max-length cut-offs of 512 ... 4096 tokens


def long_ramp_case(seed: int, name: str, options: dict[str, Any]) -> Case:
    """B = 2 responses of over 4096 tokens (row b counts positions 1 + 3b to T - 3b) whose tokens
    grow less likely along the response (the chosen 6 nats lower at the end than at the start, the
    rejected 2, so that a cut moves the two means apart), float64: code
    that keeps only a response's first 512 ... 4096 tokens, in the NLL or in the odds, moves its
    means by nats, far past any tolerance (random log-probs cut anywhere keep about the same mean)."""
    g = generator(seed, 37)
    along = torch.arange(LONG_T, dtype=torch.float64) / LONG_T
    pc, pr = (token_logps(g, 2, LONG_T, torch.float64) - drop * along for drop in (6.0, 2.0))
    mask = torch.zeros(2, LONG_T)
    for b in range(2):
        mask[b, 1 + 3 * b:LONG_T - 3 * b] = 1
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mask.long(), mask.bool())))
    note = f"B=2, T={LONG_T}, float64, int32 chosen mask, bool rejected mask, every response over 4096 tokens, " \
        "later tokens less likely" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note, layout={"chosen_mask": "int32"})


def masks_in_dtype(case: Case) -> Case:
    """A float mask in the log-probs' dtype, as the statement has it (float32 masks with
    float64 log-probs are out of range)."""
    for name in ("chosen_mask", "rejected_mask"):
        if case.inputs[name].is_floating_point():
            case.inputs[name] = case.inputs[name].to(case.dtype)
    return case


def make_cases(seed: int) -> list[Case]:
    return [masks_in_dtype(case) for case in _cases(seed)]


def _cases(seed: int) -> list[Case]:
    # λ != 1 everywhere, so that 'λ on the wrong term' always shows. Per-token log-probs stay
    # below -0.02 here: log1p(-exp(m)) in float32 is only accurate to about 6e-8 / |m|, and
    # mean log-probs near 0 belong to the stability cases, where the tolerance allows for it.
    top = 0.02
    return [
        # Every integer width meets float32 and float64 log-probs: int64 and int16 here, int32, int8
        # and uint8 below (a mask cast to a fixed float dtype shows only against float64).
        policy_case(seed, 1, "padded", 4, 7, 5, torch.float32, ("int", "int16"), {}, top=top),
        policy_case(seed, 2, "float64, bool masks", 3, 6, 6, torch.float64, "bool", {"lam": 0.5}, top=top),
        with_layout(policy_case(seed, 3, "B=1, T=1", 1, 1, 1, torch.float32, "int", {"lam": 2.0}, layout="none",
                                top=top), "B=1, T=1", chosen_mask="uint8", rejected_mask="uint8"),
        policy_case(seed, 4, "tiny", 2, 3, 3, torch.float64, ("int16", "int"), {"lam": 0.25}, top=top),
        # Integer masks in other widths (any width is an int mask): int32 and int8.
        with_far_padding(with_layout(policy_case(seed, 5, "", 4, 9, 8, torch.float32, "int", {"lam": 1.5},
                                                 layout="fixed", top=top),
                                     "prompt and padding in every row", chosen_mask="int32", rejected_mask="int8")),
        # The fixed battery: exact zeros (never a whole row), non-contiguous log-probs, expanded masks.
        with_zeros(policy_case(seed, 8, "exact zeros", 3, 6, 5, torch.float64, ("int8", "uint8"), {"lam": 0.5},
                               top=top)),
        strided(policy_case(seed, 9, "", 3, 6, 6, torch.float32, "float", {"lam": 0.3}, top=top),
                "non-contiguous log-probs"),
        with_far_padding(with_expanded_masks(policy_case(seed, 10, "expanded masks", 3, 5, 4, torch.float64, "float",
                                                         {"lam": 0.7}, top=top))),
        extreme_odds_case(seed, 6, "mean log-probs to -1000, float64", 6, 32, torch.float64, {"lam": 0.5}),
        extreme_odds_case(seed, 7, "mean log-probs to -1000, float32", 6, 24, torch.float32, {}),
        logistic_band_case("log-odds gaps from 5.5 to 11.5 in size", {"lam": 0.5}),
        odds_band_case("mean log-probs in every band of log(1 - e^m)", {"lam": 0.5}),
        odds_cutoff_case("log(1 - e^m) from -8 to -11.3 beside a far side, float64", torch.float64, {"lam": 10.0}),
        odds_cutoff_case("log(1 - e^m) from -8 to -11.3 beside a far side, float32", torch.float32, {"lam": 10.0}),
        tied(policy_case(seed, 12, "equal mean log-probs", 3, 5, 5, torch.float64, "float", {"lam": 0.5}, top=top),
             {"policy_rejected_logps": "policy_chosen_logps", "rejected_mask": "chosen_mask"},
             "log odds ratio 0 in every row"),
        *longer_sides(seed, lambda *a: policy_case(*a, top=top), lam=0.5),
        # λ's end: the loss is the NLL alone, and or_loss is still what eq. 7 says.
        policy_case(seed, 35, "λ = 0", 3, 6, 5, torch.float64, "float", {"lam": 0.0}, top=top),
        # Real batches: B = 33 and responses over 256 tokens (past micro-batch and chunk sizes), multi-turn masks.
        *batch_edges(seed, lambda *a: policy_case(*a, top=top), lam=0.5),
        long_ramp_case(seed, "long responses, later tokens less likely", {"lam": 0.5}),
        # 257 rows of 9 tokens, all counted: past micro-batches of 256 rows and float16's exact 2048.
        tall_batch(seed, lambda *a: policy_case(*a, top=top), lam=0.5),
    ]
