"""`grpo-length`: how GRPO's normaliser weighs a completion's tokens by its length (Liu et al. 2025,
"Understanding R1-Zero-Like Training", section 3.1), with the candidate's grpo_loss.

Two things per loss_type ("grpo", "bnpo", "dr_grpo"):

- the per-token gradient weight of completions of lengths 2 to 32, all with advantage 1, in one
  batch (B = 31, T = 32), on-policy with β = 0: under "grpo" a token of a completion of length L
  weighs 1/(B·L), so short completions' tokens weigh more; "bnpo" gives every token 1/(Σ L) and
  "dr_grpo" 1/(B·T). Shown in units of 1/(B·T).
- a toy run in which the policy chooses its answer's length. A completion is an answer token,
  drawn from a fixed distribution over 4 answers of which one is right (a question the policy
  cannot learn: reward 1 one time in four), then tokens that each stop the completion with a
  learned probability per (answer, position), up to 32 tokens. Groups of 8, 2 groups per step,
  group-normalised advantages, plain SGD on the stop logits. Since the reward does not depend on
  the length, an unbiased gradient leaves the lengths alone on average; "grpo"'s 1/|o_i| pushes a
  wrong answer's short completions down harder than its long ones (and a right answer's short
  ones up harder), so wrong answers get longer and right ones shorter. The run records the exact
  expected length of wrong and of right answers at every step.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from grader.core.tolerances import EXPERIMENT_GRPO_LENGTH as TH
from grader.practice.experiments.record import Arm, Column, Curve, Experiment, Finding, Run

LENGTHS = tuple(range(2, 33))  # the weight curve's completion lengths
LMAX, ANSWERS, GROUP, GROUPS = 32, 4, 8, 2
SERIES = ("weight", "wrong_length", "right_length")


def _weights(fn: Callable, kwargs: dict[str, Any]) -> list[float]:
    """Per-token |gradient| of each length's completion, times B·T (dr_grpo's 1/(B·T) is 1)."""
    import torch

    b, t = len(LENGTHS), max(LENGTHS)
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(LENGTHS).unsqueeze(1)  # [B, T]
    logps = (-1.0 - torch.arange(b * t, dtype=torch.float32).view(b, t) % 3).requires_grad_(True)
    out = fn(logps, logps.detach().clone(), logps.detach().clone(), torch.ones(b), mask.clone(), beta=0.0, **kwargs)
    (grad,) = torch.autograd.grad(out[0] if isinstance(out, (tuple, list)) else out, logps)
    return [float(grad[i, :n].abs().mean()) * b * t for i, n in enumerate(LENGTHS)]


def _expected_lengths(stop: Any) -> tuple[float, float]:
    """Exact mean length of wrong answers (answers 1..3, equally likely) and of the right one (0)."""
    import torch

    hazard = torch.sigmoid(stop).clone()  # [K, LMAX]: P(stop at position t | not before)
    hazard[:, 0], hazard[:, -1] = 0.0, 1.0  # position 0 is the answer; 32 tokens at most
    alive = torch.cat([torch.ones(ANSWERS, 1), torch.cumprod(1 - hazard, 1)[:, :-1]], 1)
    length = (hazard * alive * torch.arange(1, LMAX + 1)).sum(1)  # [K]
    return float(length[1:].mean()), float(length[0])


def train(fn: Callable, kwargs: dict[str, Any], settings: dict[str, float], steps: int,
          seed: int) -> dict[str, list[float]]:
    """Child side: the weight curve, then SGD on the stop logits with the candidate's loss."""
    import torch
    import torch.nn.functional as F

    from grader.catalog.grpo.behaviour import group_advantages

    weight = _weights(fn, kwargs)
    g = torch.Generator().manual_seed(seed)
    stop = torch.full((ANSWERS, LMAX), settings["stop_logit"]).requires_grad_(True)  # [K, LMAX]
    pos = torch.arange(LMAX)
    b = GROUP * GROUPS
    wrong, right = [], []
    for _ in range(steps):
        with torch.no_grad():
            w, r = _expected_lengths(stop)
            wrong.append(w)
            right.append(r)
            answer = torch.randint(0, ANSWERS, (b,), generator=g)  # [B]: a fixed, uniform answer
            stops = (torch.rand(b, LMAX, generator=g) < torch.sigmoid(stop[answer])) & (pos >= 1)
            stops[:, -1] = True
            length = stops.int().argmax(1) + 1  # [B]: the first stop's position + 1
        mask = pos < length.unsqueeze(1)  # [B, T]
        last = pos == (length.unsqueeze(1) - 1)
        token = torch.where(last, F.logsigmoid(stop[answer]), F.logsigmoid(-stop[answer]))  # [B, T]
        token = torch.where(pos == LMAX - 1, torch.zeros_like(token), token)  # the 32nd token is forced
        logps = torch.where(pos == 0, torch.full_like(token, -math.log(ANSWERS)), token)
        logps = torch.where(mask, logps, torch.zeros_like(logps))  # padding: finite
        adv = group_advantages((answer == 0).float(), GROUP)
        out = fn(logps, logps.detach().clone(), logps.detach().clone(), adv, mask.clone(), beta=0.0, **kwargs)
        (grad,) = torch.autograd.grad(out[0] if isinstance(out, (tuple, list)) else out, stop)
        with torch.no_grad():
            stop -= settings["lr"] * grad
    return {"weight": weight, "wrong_length": wrong, "right_length": right}


# ------------------------------------------------------------------ a run's numbers
def loss_type(run: Run) -> str:
    return str(run.kwargs["loss_type"])


def weight_ratio(run: Run) -> float:
    """Per-token weight of the shortest completion over that of the longest."""
    w = run.series["weight"]
    return w[0] / w[-1] if w[-1] else math.inf


def moved(run: Run, name: str) -> float:
    xs = run.series[name]
    return xs[-1] - xs[0]


def findings(runs: list[Run]) -> list[Finding]:
    by = {loss_type(r): r for r in runs}
    out = []
    if by:
        ratios = ", ".join(f"\"{lt}\" {weight_ratio(r):.2f}×" for lt, r in by.items())
        want = {"grpo": max(LENGTHS) / min(LENGTHS), "bnpo": 1.0, "dr_grpo": 1.0}
        out.append(Finding(f"Per-token gradient weight of a {min(LENGTHS)}-token completion over a "
                           f"{max(LENGTHS)}-token one: {ratios}; only \"grpo\" weighs a token by 1/|o_i|",
                           all(abs(weight_ratio(r) - want[lt]) <= TH["weight_rtol"] * want[lt]
                               for lt, r in by.items())))
    grpo, dr = by.get("grpo"), by.get("dr_grpo")
    for name, what, sign in (("wrong_length", "wrong answers", 1), ("right_length", "right answers", -1)):
        shown = ", ".join(f"\"{lt}\" {r.series[name][0]:.2f} → {r.series[name][-1]:.2f}" for lt, r in by.items())
        if grpo is None or dr is None:
            continue
        holds = sign * moved(grpo, name) >= TH["length_moves"] and \
            abs(moved(dr, name)) <= TH["unbiased_share"] * abs(moved(grpo, name))
        verb = "grow" if sign > 0 else "shrink"
        out.append(Finding(f"Mean length of {what} ({shown}): under \"grpo\" they {verb}, under \"dr_grpo\" "
                           "they stay, though the reward does not depend on the length", holds))
    return out


def lengths_are_lengths(run: Run) -> str:
    """Expected lengths lie in [1, 32] and weights are not negative in any honest child's result."""
    lengths = run.series["wrong_length"] + run.series["right_length"]
    if any(not 1 <= x <= LMAX for x in lengths) or any(not x >= 0 for x in run.series["weight"]):
        return "lengths outside [1, 32] or negative weights"
    return ""


EXPERIMENT = Experiment(
    name="grpo-length",
    title="GRPO's length bias: per-token weights and the length of wrong answers",
    arms=(
        # lr 2 on stop logits starting at -1.5 (a stop probability of 0.18 per token, mean length
        # 6.5): large enough that 200 steps show the drift, small enough that no run oscillates.
        Arm("grpo", "grpo_loss", "GRPO", runs=({"loss_type": "grpo"}, {"loss_type": "bnpo"},
                                                {"loss_type": "dr_grpo"}), settings={"lr": 2.0, "stop_logit": -1.5}),
    ),
    train=train,
    series=SERIES,
    points={"weight": len(LENGTHS)},
    check=lengths_are_lengths,
    findings=findings,
    label=lambda r: loss_type(r),
    columns=(
        Column("loss_type", loss_type, key=True),
        Column("w(2)", lambda r: f"{r.series['weight'][0]:.3f}"),  # per-token weight of a 2-token completion
        Column("w(32)", lambda r: f"{r.series['weight'][-1]:.3f}"),
        Column("wrong start", lambda r: f"{r.series['wrong_length'][0]:.2f}"),
        Column("wrong end", lambda r: f"{r.series['wrong_length'][-1]:.2f}"),
        Column("right end", lambda r: f"{r.series['right_length'][-1]:.2f}"),
    ),
    curves=(
        Curve("per-token gradient weight (units of 1/(B·T)) by completion length 2 → 32",
              lambda r: r.series["weight"], log=True, x="completion length", xs=tuple(float(n) for n in LENGTHS)),
        Curve("mean length of wrong answers per step", lambda r: r.series["wrong_length"]),
        Curve("mean length of right answers per step", lambda r: r.series["right_length"]),
    ),
    seconds_per_step=0.02,
)
