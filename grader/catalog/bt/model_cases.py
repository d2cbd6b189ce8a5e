"""BTModel's cases, the ways its forward is called, and the catalogued forward mistakes' models:
shared by the child (grader.catalog.bt.model_probe) and the grader's checks (model.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from grader.checks.cases import Case, generator


CLASS = "BTModel"
REWARD_RANGE = 900.0  # the contract's range of rewards: forward must be right (and differentiable) up to ±900


# ---------------------------------------------------------------- cases
def model_case(seed: int, salt: int, name: str, n: int, b: int, spread: str,
               dtype: torch.dtype = torch.float32) -> Case:
    """Item ids (with repeats, and an item against itself), rewards for the grader to set, and
    the step it then adds to them in place (option `step`, as an optimiser does between two calls).

    spread: 'normal' (N(0, 2)) or 'hundreds' (±100 to ±900, both ends reached: past exp's
    overflow in float32 and float64; two of them 104 and 100, compared). dtype: the model's
    (float64: the grader calls .double()).
    """
    g = generator(seed, salt)
    chosen = torch.randint(0, n, (b,), generator=g)
    rejected = torch.randint(0, n, (b,), generator=g)
    rejected[0] = chosen[0]  # forward(i, i) = 0.5
    if spread == "hundreds":
        sign = torch.where(torch.arange(n) % 2 == 0, -1.0, 1.0).to(torch.float64)
        reward = sign * (100 + (REWARD_RANGE - 100) * torch.rand(n, generator=g, dtype=torch.float64))
        reward[0], reward[1] = -REWARD_RANGE, REWARD_RANGE  # the range's ends, a gap of 1800 between them
        # Two rewards past float32's exp overflow with a gap of 4 between them: σ(4), not inf / inf.
        reward[2], reward[3] = 104.0, 100.0
        chosen[-1], rejected[-1] = 0, 1
        if b > 3:
            chosen[1], rejected[1] = 2, 3
        if b > 2:
            chosen[-2], rejected[-2] = 1, 0
    else:
        reward = 2 * torch.randn(n, generator=g, dtype=torch.float64)
    upstream = torch.randn(b, generator=g, dtype=torch.float64)
    step = torch.randn(n, generator=g, dtype=torch.float64)  # moves σ of a normal case's pairs by tenths
    step = (reward + step).clamp(-REWARD_RANGE, REWARD_RANGE) - reward  # the stepped rewards stay in range
    extreme = spread == "hundreds"
    note = f"{n} items, B={b}" + (f", rewards up to ±{REWARD_RANGE:g}" if extreme else "") + \
        ("" if dtype == torch.float32 else f", the model in {str(dtype)[6:]}")
    # The step is an option, not an input: the forward mistakes' models take (ids, ids, rewards) positionally.
    return Case(name, {"chosen_ids": chosen, "rejected_ids": rejected, "reward": reward.to(dtype)},
                {"n_items": n, "step": step.to(dtype)}, extreme=extreme, upstream=upstream, note=note)


def model_cases(seed: int) -> list[Case]:
    return [
        model_case(seed, 11, "model: 4 items", 4, 6, "normal"),
        model_case(seed, 12, "model: 10 items", 10, 16, "normal"),
        model_case(seed, 14, "model: B=1", 3, 1, "normal"),
        model_case(seed, 13, "model: rewards in the hundreds", 5, 10, "hundreds"),
        model_case(seed, 15, "model: float64, B=33", 12, 33, "normal", torch.float64),
        # past micro-batches of up to 256 pairs (a forward that chunks the batch drops the rest)
        model_case(seed, 16, "model: B=257", 40, 257, "normal"),
    ]


def is_model_case(case: Case) -> bool:
    return "chosen_ids" in case.inputs


# ---------------------------------------------------------------- mistake models
def _exp_form(c: torch.Tensor, j: torch.Tensor, r: torch.Tensor, **_: Any) -> dict[str, torch.Tensor]:
    r = r.float()  # where the submission's float32 parameter overflows
    return {"p": torch.exp(r[c]) / (torch.exp(r[c]) + torch.exp(r[j]))}


# P(chosen ≻ rejected) as each mistake computes it, from the case's ids and rewards.
FORWARD_MODELS: dict[str, Callable[..., Any]] = {
    "forward returns logits, not a probability": lambda c, j, r, **_: {"p": r[c] - r[j]},
    "forward returns P(rejected ≻ chosen)": lambda c, j, r, **_: {"p": torch.sigmoid(r[j] - r[c])},
    "exp(r_c) / (exp(r_c) + exp(r_r)) overflows": _exp_form,
}


@dataclass
class ModelPart:
    """The fields of a spec that the checks and the diagnosis helpers read, for BTModel."""

    outputs: tuple[str, ...] = ("p",)
    models: dict[str, Callable[..., Any]] = field(default_factory=lambda: dict(FORWARD_MODELS))
    findings: dict[str, str] = field(default_factory=lambda: {
        "squeezed": "forward squeezed to a 0-dim tensor when B = 1",
        "nan_gradient": "1/(1 + exp(-d)) in forward: NaN gradient for large gaps"})
    conventions: Any = None


MODEL = ModelPart()


# forward called as a caller evaluates a model: the values must be the same in each.
MODES = (("under torch.no_grad()", True, False), ("after model.eval()", False, True),
         ("after model.eval(), under torch.no_grad()", False, False))  # (where, train mode, grad enabled)
