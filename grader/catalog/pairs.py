"""Building blocks shared by the pairwise-loss katas (dpo, ipo, simpo, orpo).

Seeded cases of per-token log-probs with masks, the masked reductions the mistake models
are written with, and the spec every such kata declares. The fixed battery of edge cases
built from these is in `pair_battery.py`.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.conventions import Conventions
from grader.checks.function import Behaviour, FunctionSpec, Param
from grader.checks.cases import Case, cast_mask, generator, response_mask, token_logps


def masked_sum(lp: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """[B, T] log-probs, [B, T] mask -> [B]: the sum over the response tokens."""
    return (lp * m.to(lp.dtype)).sum(-1)


def masked_mean(lp: torch.Tensor, m: torch.Tensor, clamp: bool = False) -> torch.Tensor:
    """[B, T] log-probs, [B, T] mask -> [B]: the mean over the response tokens (count clamped to 1 with `clamp`)."""
    count = m.to(lp.dtype).sum(-1)
    return masked_sum(lp, m) / (count.clamp(min=1) if clamp else count)


# Arguments of the logistic in every pairwise loss that one fixed case per kata puts each row at:
# softplus(x, threshold=5), a common shortcut, is x itself above 5 and off by up to 7e-3 there,
# so a kata whose cases never reach |x| from 5 to 12 would pass it by chance.
LOGISTIC_BAND = (-12.0, -9.0, -7.0, -5.5, 5.5, 7.0, 9.0, 12.0)
# And past exp's float32 overflow (exp(x) is inf above 88.7): code that treats such pairs as
# saturated (detached, clamped, dropped) gives a confidently wrong pair (x far below 0) no
# gradient, where the loss's gradient is at its largest.
SATURATED_BAND = (-120.0, -100.0, -90.0, -85.0, 85.0, 90.0, 100.0, 120.0)


def shift_rows(case: Case, gap: torch.Tensor, want: torch.Tensor, up: tuple[str, str], down: tuple[str, str],
               per_token: bool) -> Case:
    """Move each row's `gap` (float64, [B]) to `want` by lowering log-probs, never raising one:
    `up` = (input, mask) is lowered to raise the gap, `down` to lower it. A row's masked tokens
    move by the amount (`per_token`: the gap is a mean) or by the amount over their count (a sum)."""
    s = want - gap
    for (name, mask), amount in ((up, s.clamp(min=0)), (down, (-s).clamp(min=0))):
        m = case.inputs[mask].to(torch.float64)
        step = amount if per_token else amount / m.sum(-1).clamp(min=1)
        x = case.inputs[name]
        case.inputs[name] = (x.to(torch.float64) - step[:, None] * m).to(x.dtype)
    return case


def softplus_by_hand(x: torch.Tensor) -> list[torch.Tensor]:
    """-log σ(x), elementwise, as max(-x, 0) + log1p(exp(-|x|)) with clamp and with relu: the
    values are right, the gradients at x = 0 are not (the catalogue's softplus_by_hand)."""
    tail = torch.log1p(torch.exp(-x.abs()))
    return [(-x).clamp(min=0) + tail, torch.relu(-x) + tail]


def tied(case: Case, copies: dict[str, str], note: str) -> Case:
    """`case` with each input in `copies` replaced by a copy of another (input -> source), so that
    the logistic's argument is exactly 0 in every row: the kink a hand-written softplus gets wrong."""
    for name, source in copies.items():
        case.inputs[name] = case.inputs[source].clone()
    case.note += f", {note}"
    return case


# ---------------------------------------------------------------- with a reference model
REF_NAMES = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps",
         "chosen_mask", "rejected_mask")


# ---------------------------------------------------------------- mask kinds
# A case's `mask` names each mask's kind: "float" (in the log-probs' dtype, as the statements
# say), "bool", "int" (int64) or an integer width of INT_WIDTHS, which the case holds as int64
# and the grader passes in that width (its layout); a pair (chosen kind, rejected kind) gives
# the two masks different kinds, as a caller may, so that code which reads one mask's kind and
# converts both alike shows.
INT_WIDTHS = ("int32", "int16", "int8", "uint8")


def mask_kinds(mask: str | tuple[str, str]) -> tuple[str, str]:
    """(chosen kind, rejected kind) of a case's `mask`."""
    return (mask, mask) if isinstance(mask, str) else mask


def as_kind(m: torch.Tensor, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """A 0/1 mask `m` as a mask of `kind` beside log-probs of `dtype`: a float mask in that dtype
    (a float32 mask beside float64 log-probs is out of range), an integer width held as int64."""
    if kind == "float":
        return m.to(dtype)
    return cast_mask(m, "int" if kind in INT_WIDTHS else kind)


def describe_masks(mask: str | tuple[str, str]) -> str:
    c, r = mask_kinds(mask)
    return f"{c} masks" if c == r else f"{c} chosen mask, {r} rejected mask"


def masked_case(name: str, inputs: dict[str, torch.Tensor], options: dict[str, Any], mask: str | tuple[str, str],
                note: str) -> Case:
    """A pairwise case whose masks of an integer width are passed in that width."""
    case = Case(name, inputs, options, note=note)
    for side, kind in zip(("chosen", "rejected"), mask_kinds(mask)):
        if kind in INT_WIDTHS:
            case.layout[f"{side}_mask"] = kind
    return case


def _options_note(options: dict[str, Any]) -> str:
    return "".join(f", {k}={v}" for k, v in options.items())


def pair_case(seed: int, salt: int, name: str, b: int, tc: int, tr: int, dtype: torch.dtype,
              mask: str | tuple[str, str], options: dict[str, Any], prompt: bool = True) -> Case:
    """Policy and reference per-token log-probs with masks, for every pairwise loss kata."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, tc, dtype), token_logps(g, b, tr, dtype)
    rc = pc + (0.5 * torch.randn(b, tc, generator=g, dtype=torch.float64)).to(dtype)
    rr = pr + (0.5 * torch.randn(b, tr, generator=g, dtype=torch.float64)).to(dtype)
    prompt_max = None if prompt else 0
    kc, kr = mask_kinds(mask)
    mc = as_kind(response_mask(g, b, tc, "float", prompt_max), kc, dtype)
    mr = as_kind(response_mask(g, b, tr, "float", prompt_max), kr, dtype)
    inputs = dict(zip(REF_NAMES, (pc, pr, rc, rr, mc, mr)))
    note = f"B={b}, Tc={tc}, Tr={tr}, {str(dtype)[6:]}, {describe_masks(mask)}" + _options_note(options)
    return masked_case(name, inputs, options, mask, note)


TOKEN_RATIO_RANGE = 200.0  # the contract's range of per-token log-ratios (both signs), reached by the cases


def extreme_pair_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                      options: dict[str, Any], top: float = 40.0) -> Case:
    """Log-ratios of thousands of nats, in both directions across the rows; per-token log-ratios
    from top/2 to `top` (the first token of every row exactly `top`)."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, t, dtype, scale=60.0), token_logps(g, b, t, dtype, scale=60.0)
    sign = torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64).unsqueeze(1)

    def shift() -> torch.Tensor:
        size = top / 2 + top / 2 * torch.rand(b, t, generator=g, dtype=torch.float64)
        size[:, 0] = top
        return (sign * size).to(dtype)

    rc, rr = pc - shift(), pr + shift()
    mc = torch.ones(b, t, dtype=dtype)
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2).to(dtype)
    inputs = dict(zip(REF_NAMES, (pc, pr, rc, rr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, per-token log-ratios up to ±{top:g}" + _options_note(options)
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


def policy_case(seed: int, salt: int, name: str, b: int, tc: int, tr: int, dtype: torch.dtype,
                mask: str | tuple[str, str], options: dict[str, Any], layout: str = "random",
                top: float = 0.0) -> Case:
    """Policy per-token log-probs (at most -`top`) with masks. layout: 'random' prompt and padding,
    'none' (all response), or 'fixed' (see `layout_mask`)."""
    g = generator(seed, salt)
    pc, pr = token_logps(g, b, tc, dtype) - top, token_logps(g, b, tr, dtype) - top
    if layout == "fixed":
        mc, mr = layout_mask(b, tc), layout_mask(b, tr)
    else:
        prompt_max = 0 if layout == "none" else None
        mc, mr = response_mask(g, b, tc, "float", prompt_max), response_mask(g, b, tr, "float", prompt_max)
    kc, kr = mask_kinds(mask)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, as_kind(mc, kc, dtype), as_kind(mr, kr, dtype))))
    note = f"B={b}, Tc={tc}, Tr={tr}, {str(dtype)[6:]}, {describe_masks(mask)}" + _options_note(options)
    return masked_case(name, inputs, options, mask, note)


def extreme_policy_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                        options: dict[str, Any]) -> Case:
    """Mean log-probs about 100 nats apart, chosen ahead in odd rows and far behind in even rows."""
    g = generator(seed, salt)
    likely = lambda: -torch.rand(b, t, generator=g, dtype=torch.float64) * 3  # a few nats per token
    ruled_out = lambda: -(50 + 100 * torch.rand(b, t, generator=g, dtype=torch.float64))  # ~-100 per token
    even = (torch.arange(b) % 2 == 0).unsqueeze(1)
    pc = torch.where(even, ruled_out(), likely()).to(dtype)
    pr = torch.where(even, likely(), ruled_out()).to(dtype)
    mc = torch.ones(b, t, dtype=dtype)
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2).to(dtype)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, mean log-probs 100 nats apart" + _options_note(options)
    return Case(name, inputs, options, extreme=True, scale=10.0, note=note)


def pairwise_spec(function: str, names: tuple[str, ...], hyper: tuple[Param, ...], outputs: tuple[str, ...],
                  make_cases: Callable[[int], list[Case]], models: dict[str, Callable[..., Any]],
                  behaviour: Behaviour, detached: tuple[str, ...] = (),
                  combine_rows: Callable[..., Any] | None = None, conventions: Conventions | None = None,
                  findings: dict[str, str] | None = None) -> FunctionSpec:
    """The spec of a pairwise loss: differentiated w.r.t. every log-prob input, each masked by its
    side's mask. A reference's log-probs (dpo, ipo) are graded inputs too: the loss is
    differentiable in them, and a reference run without no_grad (the policy with its adapters
    off) carries a graph, which rewards must not keep. Training differentiates the policy's
    alone (`trained`: the kl kata's pattern)."""
    grad_inputs = tuple(n for n in names if n.endswith("_logps"))
    policy = tuple(n for n in grad_inputs if n.startswith("policy_"))
    return FunctionSpec(
        function=function,
        params=tuple(Param(n) for n in names) + hyper,
        outputs=outputs,
        grad_inputs=grad_inputs,
        trained=policy if policy != grad_inputs else None,
        make_cases=make_cases,
        loss=outputs[0],
        masks={n: ("chosen_mask" if "_chosen_" in n else "rejected_mask") for n in grad_inputs},
        detached=detached,
        models=models,
        behaviour=behaviour,
        combine_rows=combine_rows,
        conventions=conventions,
        findings=findings or {},
    )
