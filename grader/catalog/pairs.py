"""Building blocks shared by the pairwise-loss katas (dpo, ipo, simpo, orpo).

Seeded cases of per-token log-probs with masks, the masked reductions the mistake models
are written with, and the spec every such kata declares.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.function import Behaviour, FunctionSpec, Param
from grader.checks.cases import Case, cast_mask, generator, response_mask, token_logps


def masked_sum(lp: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """[B, T] log-probs, [B, T] mask -> [B]: the sum over the response tokens."""
    return (lp * m.to(lp.dtype)).sum(-1)


def masked_mean(lp: torch.Tensor, m: torch.Tensor, clamp: bool = False) -> torch.Tensor:
    """[B, T] log-probs, [B, T] mask -> [B]: the mean over the response tokens (count clamped to 1 with `clamp`)."""
    count = m.to(lp.dtype).sum(-1)
    return masked_sum(lp, m) / (count.clamp(min=1) if clamp else count)


# ---------------------------------------------------------------- with a reference model
REF_NAMES = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps",
         "chosen_mask", "rejected_mask")


def pair_case(seed: int, salt: int, name: str, b: int, tc: int, tr: int, dtype: torch.dtype, mask: str,
              options: dict[str, Any], prompt: bool = True) -> Case:
    """Policy and reference per-token log-probs with masks, for every pairwise loss kata."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, tc, dtype), token_logps(g, b, tr, dtype)
    rc = pc + (0.5 * torch.randn(b, tc, generator=g, dtype=torch.float64)).to(dtype)
    rr = pr + (0.5 * torch.randn(b, tr, generator=g, dtype=torch.float64)).to(dtype)
    prompt_max = None if prompt else 0
    mc, mr = response_mask(g, b, tc, mask, prompt_max), response_mask(g, b, tr, mask, prompt_max)
    inputs = dict(zip(REF_NAMES, (pc, pr, rc, rr, mc, mr)))
    note = f"B={b}, Tc={tc}, Tr={tr}, {str(dtype)[6:]}, {mask} masks" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def extreme_pair_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                      options: dict[str, Any]) -> Case:
    """Log-ratios of thousands of nats, in both directions across the rows."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, t, dtype, scale=60.0), token_logps(g, b, t, dtype, scale=60.0)
    sign = torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64).unsqueeze(1)
    shift = lambda: (sign * (20 + 20 * torch.rand(b, t, generator=g, dtype=torch.float64))).to(dtype)
    rc, rr = pc - shift(), pr + shift()
    mc = cast_mask(torch.ones(b, t), "float")
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2)
    inputs = dict(zip(REF_NAMES, (pc, pr, rc, rr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, log-ratios of thousands of nats" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, extreme=True, scale=float(t) * 100.0, note=note)


# ---------------------------------------------------------------- policy only
POLICY_NAMES = ("policy_chosen_logps", "policy_rejected_logps", "chosen_mask", "rejected_mask")


def layout_mask(batch: int, length: int, kind: str = "float") -> torch.Tensor:
    """[B, T] mask where every row has a prompt and right padding, and the rows' lengths differ.

    Deterministic, so that mistakes about the denominator (T instead of the row's token count,
    sequences instead of tokens) show on every seed. Needs T >= 5.
    """
    mask = torch.zeros(batch, length)
    for b in range(batch):
        start, end = 1 + b % 2, length - 1 - b % 3
        mask[b, start:end] = 1
    return cast_mask(mask, kind)


def policy_case(seed: int, salt: int, name: str, b: int, tc: int, tr: int, dtype: torch.dtype, mask: str,
                options: dict[str, Any], layout: str = "random", top: float = 0.0) -> Case:
    """Policy per-token log-probs (at most -`top`) with masks. layout: 'random' prompt and padding,
    'none' (all response), or 'fixed' (see `layout_mask`)."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, tc, dtype) - top, token_logps(g, b, tr, dtype) - top
    if layout == "fixed":
        mc, mr = layout_mask(b, tc, mask), layout_mask(b, tr, mask)
    else:
        prompt_max = 0 if layout == "none" else None
        mc, mr = response_mask(g, b, tc, mask, prompt_max), response_mask(g, b, tr, mask, prompt_max)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mc, mr)))
    note = f"B={b}, Tc={tc}, Tr={tr}, {str(dtype)[6:]}, {mask} masks" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def extreme_policy_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                        options: dict[str, Any]) -> Case:
    """Mean log-probs about 100 nats apart, chosen ahead in odd rows and far behind in even rows."""
    g = generator(seed, salt)
    likely = lambda: -torch.rand(b, t, generator=g, dtype=torch.float64) * 3  # a few nats per token
    ruled_out = lambda: -(50 + 100 * torch.rand(b, t, generator=g, dtype=torch.float64))  # ~-100 per token
    even = (torch.arange(b) % 2 == 0).unsqueeze(1)
    pc = torch.where(even, ruled_out(), likely()).to(dtype)
    pr = torch.where(even, likely(), ruled_out()).to(dtype)
    mc = cast_mask(torch.ones(b, t), "float")
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, mean log-probs 100 nats apart" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, extreme=True, scale=10.0, note=note)


def pairwise_spec(function: str, names: tuple[str, ...], hyper: tuple[Param, ...], outputs: tuple[str, ...],
                  make_cases: Callable[[int], list[Case]], models: dict[str, Callable[..., Any]],
                  behaviour: Behaviour, detached: tuple[str, ...] = (),
                  combine_rows: Callable[..., Any] | None = None) -> FunctionSpec:
    """The spec of a pairwise loss: differentiated w.r.t. both policies' log-probs, each masked by its own mask."""
    return FunctionSpec(
        function=function,
        params=tuple(Param(n) for n in names) + hyper,
        outputs=outputs,
        grad_inputs=("policy_chosen_logps", "policy_rejected_logps"),
        make_cases=make_cases,
        loss=outputs[0],
        masks={"policy_chosen_logps": "chosen_mask", "policy_rejected_logps": "rejected_mask"},
        detached=detached,
        models=models,
        behaviour=behaviour,
        combine_rows=combine_rows,
    )
