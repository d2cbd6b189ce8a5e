"""grpo: seeded cases with a fixed battery, bad inputs, the catalogued mistakes' models, the behaviour run.

Ratios are drawn on purpose, not at random: every case has tokens (or, under "sequence",
completions) in each region the clip distinguishes (below 1 - ε_low, inside on either side of
1, between 1 + ε_low and 1 + ε_high when they differ, above 1 + ε_high), at least 1e-3 from a
bound (1e-5 for GSPO's tiny ε), and advantages of both signs, so the clip's mistakes show on
every seed. Padding holds finite log-probs whose log-ratios and KL are not 0, so that counting
it shows too.
"""
from __future__ import annotations

from typing import Any

import torch

from grader.catalog.grpo.behaviour import GRPOBehaviour
from grader.catalog.grpo.conventions import CONVENTIONS
from grader.catalog.grpo.models import MODELS
from grader.checks.cases import Case, cast_mask, generator
from grader.checks.function import FunctionSpec, Param

NAMES = ("logps", "old_logps", "ref_logps", "advantages", "mask")


def _regions(eps_low: float, eps_high: float) -> list[tuple[float, float]]:
    """Intervals of the ratio, one per way the clip can treat a token, kept off the bounds."""
    d = min(1e-3, eps_low / 10, eps_high / 10)
    lo, hi = 1 - eps_low, 1 + eps_high
    out = [(max(0.3, lo - 0.4), lo - d), (lo + d, 1 - d), (1 + d, 1 + min(eps_low, eps_high) - d)]
    if eps_high > eps_low + 2 * d:  # only clip-higher decides these
        out.append((1 + eps_low + d, hi - d))
    out.append((hi + d, hi + 0.6))
    return out


def _draw_ratios(g: torch.Generator, rows: int, cols: int, regions: list[tuple[float, float]]) -> torch.Tensor:
    """[rows, cols] float64 ratios; element (b, t) lies in region (b + t) mod len(regions)."""
    k = (torch.arange(rows).unsqueeze(1) + torch.arange(cols).unsqueeze(0)) % len(regions)
    lo = torch.tensor([r[0] for r in regions], dtype=torch.float64)[k]
    hi = torch.tensor([r[1] for r in regions], dtype=torch.float64)[k]
    return lo + (hi - lo) * torch.rand(rows, cols, generator=g, dtype=torch.float64)


def grpo_case(seed: int, salt: int, name: str, lengths: list[int], t: int, dtype: torch.dtype, mask: str,
              options: dict[str, Any], ref: bool = True, transposed: bool = False, extreme: bool = False,
              zero_advantage: bool = False, adv_scale: float = 1.0) -> Case:
    g = generator(seed, salt)
    b = len(lengths)
    eps_low, eps_high = options.get("epsilon_low", 0.2), options.get("epsilon_high", 0.2)
    m = torch.zeros(b, t, dtype=torch.float64)
    for i, n in enumerate(lengths):
        m[i, :n] = 1
    top = 100.0 if extreme else 0.0  # log-probs near -200: probabilities underflow in float32
    logps = -(top + torch.rand(b, t, generator=g, dtype=torch.float64) * (100.0 if extreme else 3.0))
    regions = _regions(eps_low, eps_high)
    if options.get("importance_sampling_level", "token") == "sequence":
        # One ratio per completion, spread over its tokens with zero-mean noise on its own tokens.
        seq = _draw_ratios(g, b, 1, regions).log()  # [B, 1]
        noise = 0.3 * torch.randn(b, t, generator=g, dtype=torch.float64)
        centred = noise - (noise * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
        log_ratio = torch.where(m.bool(), seq + centred, noise)
    else:
        log_ratio = _draw_ratios(g, b, t, regions).log()
    old = logps - log_ratio
    d = (3.0 if extreme else 1.5) * (2 * torch.rand(b, t, generator=g, dtype=torch.float64) - 1)
    adv = torch.randn(b, generator=g, dtype=torch.float64)
    adv = adv.abs().add(0.1) * torch.where(torch.arange(b) % 2 == 0, 1.0, -1.0).to(torch.float64)  # both signs
    if adv_scale > 1:  # advantages not normalised (scale "none" on rewards far from 0), one at 50
        adv = adv_scale * adv
        adv[0] = 50.0
    if zero_advantage:
        adv[-1] = 0.0  # a group whose rewards were all equal
    inputs = {"logps": logps, "old_logps": old, "ref_logps": logps + d, "advantages": adv, "mask": m}
    inputs = {k: v.to(dtype) for k, v in inputs.items()}
    inputs["mask"] = cast_mask(m, mask)
    if not ref:
        del inputs["ref_logps"]
    note = f"B={b}, T={t}, {str(dtype)[6:]}, {mask} mask, lengths {lengths}" + \
        ("" if ref else ", ref_logps=None") + "".join(f", {k}={v}" for k, v in options.items())
    # transposed: a transpose's strides, on which .view() raises
    layout = {k: "transposed" for k, v in inputs.items() if v.dim() == 2} if transposed else {}
    return Case(name, inputs, options, extreme=extreme, scale=10.0 if extreme else 1.0, note=note, layout=layout,
                absent={} if ref else {"ref_logps": NAMES.index("ref_logps")})


def make_cases(seed: int) -> list[Case]:
    f32, f64 = torch.float32, torch.float64
    seq = {"importance_sampling_level": "sequence"}
    cases = [
        # The fixed battery: the same shapes, options and layouts at every seed.
        grpo_case(seed, 1, "defaults, padded", [7, 3, 5, 1], 7, f32, "float", {}),
        grpo_case(seed, 2, "B=1, T=1", [1], 1, f64, "int", {}),
        grpo_case(seed, 3, "T=1", [1, 0, 1], 1, f32, "bool", {"beta": 0.1}),
        grpo_case(seed, 4, "an empty row", [5, 0, 2], 5, f64, "float", {"loss_type": "grpo"}, zero_advantage=True),
        grpo_case(seed, 5, "B == T", [5, 4, 2, 3, 1], 5, f32, "float", {}),
        grpo_case(seed, 6, "non-contiguous inputs", [6, 2, 4, 3], 6, f32, "float", {"loss_type": "bnpo"},
                  transposed=True),
        grpo_case(seed, 7, "beta=0 without a reference model", [6, 3, 1, 4], 6, f64, "int", {"beta": 0.0},
                  ref=False),
        grpo_case(seed, 8, "bnpo", [8, 5, 2, 7], 8, f64, "bool", {"loss_type": "bnpo", "beta": 0.2}),
        grpo_case(seed, 9, "dr_grpo, max_completion_length > T", [6, 1, 4, 5], 6, f32, "int",
                  {"loss_type": "dr_grpo", "max_completion_length": 9}),
        grpo_case(seed, 19, "dr_grpo, an empty row, no row reaches T", [4, 2, 0, 3], 6, f64, "float",
                  {"loss_type": "dr_grpo"}),
        grpo_case(seed, 10, "grpo, sequence", [6, 2, 0, 4], 6, f32, "float", {**seq}),
        grpo_case(seed, 11, "bnpo, sequence", [7, 3, 6], 7, f64, "int", {"loss_type": "bnpo", **seq},
                  zero_advantage=True),
        grpo_case(seed, 12, "dr_grpo, sequence", [5, 2, 4, 1], 5, f32, "bool", {"loss_type": "dr_grpo", **seq}),
        grpo_case(seed, 13, "epsilon_high > epsilon_low", [8, 6, 7, 3], 8, f32, "float",
                  {"epsilon_low": 0.2, "epsilon_high": 0.28}),
        grpo_case(seed, 14, "GSPO's epsilons", [6, 4, 5, 2, 6], 6, f64, "float",
                  {"epsilon_low": 3e-4, "epsilon_high": 4e-4, "loss_type": "bnpo", **seq}),
        grpo_case(seed, 15, "log-probs near -200, float32", [6, 3, 5], 6, f32, "float", {"beta": 0.1}, extreme=True),
        grpo_case(seed, 16, "log-probs near -200, float64, sequence", [5, 5, 2], 5, f64, "int", {**seq},
                  extreme=True),
        grpo_case(seed, 20, "no response token", [0, 0], 3, f32, "float", {"loss_type": "bnpo", "beta": 0.04}),
        grpo_case(seed, 21, "beta=0 with a reference model", [4, 2, 3], 4, f64, "float", {"beta": 0.0}),
        grpo_case(seed, 22, "dr_grpo, max_completion_length == T", [5, 2, 4], 5, f32, "float",
                  {"loss_type": "dr_grpo", "max_completion_length": 5}),
        grpo_case(seed, 23, "advantages far from ±1", [5, 3, 4], 5, f64, "float", {"beta": 0.04}, adv_scale=20.0),
        # Every option away from its default, in each loss_type and level: an option honoured in
        # one combination only (max_completion_length outside "dr_grpo", epsilon_low under
        # "sequence" alone) shows. max_completion_length is "dr_grpo"'s alone: the others ignore it.
        grpo_case(seed, 24, "grpo, every option set", [6, 2, 5, 3], 6, f64, "float",
                  {"beta": 0.1, "epsilon_low": 0.1, "epsilon_high": 0.28, "max_completion_length": 9}),
        grpo_case(seed, 25, "bnpo, sequence, every option set", [5, 3, 4], 5, f32, "int",
                  {"loss_type": "bnpo", "beta": 0.2, "epsilon_low": 0.15, "epsilon_high": 0.25,
                   "max_completion_length": 8, **seq}),
        grpo_case(seed, 26, "dr_grpo, sequence, every option set", [6, 4, 1, 5], 7, f64, "bool",
                  {"loss_type": "dr_grpo", "beta": 0.2, "epsilon_low": 0.1, "epsilon_high": 0.3,
                   "max_completion_length": 8, **seq}),
        # beta = 0 (no KL term: code may take another path) with every other option set
        grpo_case(seed, 27, "beta=0, dr_grpo, sequence, every option set", [5, 2, 4], 5, f32, "float",
                  {"loss_type": "dr_grpo", "beta": 0.0, "epsilon_low": 0.15, "epsilon_high": 0.25,
                   "max_completion_length": 7, **seq}, ref=False),
        grpo_case(seed, 28, "beta=0, bnpo, every option set", [6, 3, 5, 1], 6, f64, "int",
                  {"loss_type": "bnpo", "beta": 0.0, "epsilon_low": 0.1, "epsilon_high": 0.28,
                   "max_completion_length": 8}),
        grpo_case(seed, 29, "log-probs near -200, float32, sequence", [6, 4, 2], 6, f32, "float", {**seq},
                  extreme=True),
        grpo_case(seed, 30, "fewer response tokens than rows", [1, 0, 0], 3, f64, "float",
                  {"loss_type": "bnpo", "beta": 0.1}),
        grpo_case(seed, 31, "no response token, float64, bool mask", [0, 0], 3, f64, "bool", {"loss_type": "bnpo"}),
        grpo_case(seed, 32, "sequence, bool mask, an empty row", [3, 0, 2], 3, f32, "bool", {**seq}),
    ]
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
                               pick(["float", "int", "bool"]), options))
    return cases


def bad_inputs(seed: int) -> list[Case]:
    base = lambda salt, name, options, **kw: grpo_case(seed, salt, name, [4, 2, 3], 4, torch.float32, "float",
                                                      options, **kw)
    wrong_shape = base(30, "advantages of shape [B, 1]", {})
    wrong_shape.inputs["advantages"] = wrong_shape.inputs["advantages"].unsqueeze(1)
    per_token = base(31, "advantages of shape [B, T]", {})
    per_token.inputs["advantages"] = per_token.inputs["advantages"].unsqueeze(1).expand(3, 4).clone()
    one = base(38, "advantages of shape [1] (it would broadcast)", {})
    one.inputs["advantages"] = one.inputs["advantages"][:1].clone()
    return [
        wrong_shape, per_token, one,
        base(32, "beta > 0 with ref_logps None", {"beta": 0.04}, ref=False),
        base(36, "beta = 0.001 with ref_logps None", {"beta": 0.001}, ref=False),
        base(33, "unknown loss_type 'token_mean'", {"loss_type": "token_mean"}),
        base(34, "unknown importance_sampling_level 'group'", {"importance_sampling_level": "group"}),
        # a known word with space around it or a suffix: a strip() or a prefix match would take it
        base(39, "unknown loss_type 'dr_grpo '", {"loss_type": "dr_grpo "}),
        base(40, "unknown loss_type 'bnpo_v2'", {"loss_type": "bnpo_v2"}),
        base(41, "unknown importance_sampling_level 'sequence\\n'", {"importance_sampling_level": "sequence\n"}),
        base(35, "max_completion_length below T", {"loss_type": "dr_grpo", "max_completion_length": 3}),
        base(37, "max_completion_length below T, loss_type 'grpo'", {"max_completion_length": 2}),
        base(42, "max_completion_length 0", {"loss_type": "dr_grpo", "max_completion_length": 0}),
        # another trainer's name, nothing, and a rule met under the other level
        base(43, "unknown loss_type 'dapo'", {"loss_type": "dapo"}),
        base(44, "loss_type None", {"loss_type": None}),
        base(45, "importance_sampling_level None", {"importance_sampling_level": None}),
        base(48, "unknown loss_type 'GRPO'", {"loss_type": "GRPO"}),
        base(49, "unknown importance_sampling_level 'Token'", {"importance_sampling_level": "Token"}),
        base(50, "unknown importance_sampling_level 'token_level'", {"importance_sampling_level": "token_level"}),
        base(46, "beta > 0 with ref_logps None, sequence", {"beta": 0.04, "importance_sampling_level": "sequence"},
             ref=False),
        # checked before an early return for a batch with no response token
        grpo_case(seed, 47, "unknown loss_type 'bnpo_v2', no response token", [0, 0], 3, torch.float32, "float",
                  {"loss_type": "bnpo_v2"}),
        grpo_case(seed, 51, "max_completion_length below T, no response token", [0, 0], 3, torch.float32, "float",
                  {"loss_type": "dr_grpo", "max_completion_length": 1}),
        grpo_case(seed, 52, "beta > 0 with ref_logps None, no response token", [0, 0], 3, torch.float32, "float",
                  {"beta": 0.04}, ref=False),
    ]


def combine_rows(rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
    """The batch's outputs from its rows graded alone ("grpo"): the loss is the mean of the rows';
    mean_kl and clip_fraction are token means, so the rows' values weighted by their token counts."""
    counts = case.inputs["mask"].to(torch.float64).sum(-1)  # [B]
    total = counts.sum().clamp(min=1)
    dtype = rows[0][0].dtype
    weighted = lambda j: (torch.stack([r[j].to(torch.float64) for r in rows]) * counts).sum() / total
    return [torch.stack([r[0] for r in rows]).mean(), weighted(1).to(dtype), weighted(2).to(dtype)]


SPEC = FunctionSpec(
    function="grpo_loss",
    params=tuple(Param(n) for n in NAMES) + (
        Param("beta", 0.04), Param("epsilon_low", 0.2), Param("epsilon_high", 0.2), Param("loss_type", "grpo"),
        Param("max_completion_length", None), Param("importance_sampling_level", "token")),
    outputs=("loss", "mean_kl", "clip_fraction"),
    grad_inputs=("logps",),
    make_cases=make_cases,
    loss="loss",
    masks={"logps": "mask"},
    detached=("mean_kl", "clip_fraction"),
    constants=("old_logps", "ref_logps", "advantages"),
    bad_inputs=bad_inputs,
    models=MODELS,
    behaviour=GRPOBehaviour(),
    combine_rows=combine_rows,
    conventions=CONVENTIONS,
)
