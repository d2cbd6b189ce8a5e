"""`ppo-clip`: what PPO's clip does and does not bound (Schulman et al. 2017, section 3).

The toy of grader.catalog.ppo.toy: a softmax policy over 5 actions trained for many epochs on
one fixed rollout in which action 0 has advantage +1 and the others 0, with the candidate's
ppo_loss for ε in {0.1, 0.2, inf}, once with plain gradient descent and once with Adam.

With plain gradient descent the advantaged ratio stops one step past 1 + ε: beyond it the
clipped term wins and the token's gradient is exactly 0. Without clipping it climbs towards
1/π_old = 5. Adam keeps moving after the gradient is 0 (its first moment decays over about
1/(1 - β1) steps and its second moment far more slowly), so with the same clip the ratio ends
well past 1 + ε: the clip bounds the gradient, not the step.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from grader.core.tolerances import PPO_PLATEAU_FLAT, PPO_PLATEAU_MARGIN, PPO_UNCLIPPED_GROWTH, PPO_UNCLIPPED_MIN
from grader.practice.experiments.record import Arm, Column, Curve, Experiment, Finding, Run

ACTIONS = 5  # grader.catalog.ppo.toy.ACTIONS (not imported: records never import torch)
SERIES = ("ratio", "kl", "clip_fraction")  # per epoch: π(0)/π_old(0) and KL(π_old ‖ π) after it; the loss's clip_fraction


def train(fn: Callable, kwargs: dict[str, Any], settings: dict[str, float], steps: int, seed: int) -> dict[str, list[float]]:
    """Child side: `steps` epochs on the fixed rollout with `fn(..., clip_eps=ε)[0]` as the loss;
    Adam when the arm's settings name its β1, plain gradient descent otherwise."""
    from grader.catalog.ppo import toy

    out = toy.train(fn, kwargs["clip_eps"], steps, settings["lr"], seed, adam_beta1=settings.get("β1"))
    return {"ratio": out["ratio"][1:], "kl": out["kl"][1:], "clip_fraction": out["clip_fraction"]}


# ------------------------------------------------------------------ a run's numbers
def eps(run: Run) -> float:
    return float(run.kwargs["clip_eps"])


def eps_text(run: Run) -> str:
    return "∞" if math.isinf(eps(run)) else f"{eps(run):g}"


def final(run: Run, name: str = "ratio") -> float:
    xs = run.series.get(name) or []
    return xs[-1] if xs else math.nan


def last_third(run: Run) -> float:
    """How far the ratio moved over the last third of the epochs."""
    r = run.series.get("ratio") or []
    return r[-1] - r[2 * len(r) // 3] if len(r) >= 3 else math.nan


def upper(run: Run) -> float | None:
    return None if math.isinf(eps(run)) else 1 + eps(run)


def levels_off(run: Run) -> bool:
    """Just above 1 + ε, and not moving: the kata's behaviour check, on this run."""
    return 1 + eps(run) < final(run) <= 1 + eps(run) + PPO_PLATEAU_MARGIN and \
        abs(last_third(run)) <= PPO_PLATEAU_FLAT


def keeps_growing(run: Run) -> bool:
    return PPO_UNCLIPPED_MIN <= final(run) < ACTIONS and last_third(run) > PPO_UNCLIPPED_GROWTH


def findings(runs: list[Run]) -> list[Finding]:
    out = []
    sgd = {eps(r): r for r in runs if r.arm == "SGD"}
    adam = {eps(r): r for r in runs if r.arm == "Adam"}
    clipped = [e for e in sgd if math.isfinite(e)]
    if clipped:
        ends = ", ".join(f"ε={e:g}: {final(sgd[e]):.4f}" for e in clipped)
        out.append(Finding(f"SGD: the advantaged action's ratio levels off just above 1 + ε and stays there ({ends}): "
                           "past the bound its tokens' gradient is exactly 0", all(levels_off(sgd[e]) for e in clipped)))
    if math.inf in sgd:
        r = sgd[math.inf]
        out.append(Finding(f"SGD, ε = ∞: the ratio keeps growing towards 1/π_old = {ACTIONS} "
                           f"({final(r):.3f} at the end, KL(π_old ‖ π) {final(r, 'kl'):.3f})", keeps_growing(r)))
    both = [e for e in clipped if e in adam]
    if both:
        ends = "; ".join(f"ε={e:g}: {final(adam[e]):.3f}, KL {final(adam[e], 'kl'):.4f} vs SGD's "
                         f"{final(sgd[e], 'kl'):.4f}" for e in both)
        out.append(Finding(f"Adam, same clip: the ratio ends far past 1 + ε ({ends}): momentum keeps moving the "
                           "logits after the clipped tokens' gradient is 0, so the clip bounds the gradient, not "
                           "the step", all(final(adam[e]) > 1 + e + PPO_PLATEAU_MARGIN and
                                           final(adam[e], "kl") > final(sgd[e], "kl") for e in both)))
    if out and clipped and both:
        out.append(Finding("What the clip guarantees: no incentive to push a sampled token's ratio past 1 ± ε in "
                           "its advantage's direction. What it does not: a bound on the step or on KL(π_old ‖ π). "
                           "Momentum overshoots, a ratio moving against its advantage is never clipped, and actions "
                           "outside the rollout move freely; a KL penalty, or stopping the epochs when the KL grows, "
                           "is what bounds the distance.", all(f.holds for f in out)))
    return out


def ratios_are_positive(run: Run) -> str:
    """A ratio of probabilities is positive and a KL is not negative in any honest child's result."""
    bad = any(x <= 0 for x in run.series["ratio"]) or any(x < -1e-9 for x in run.series["kl"])
    return "a ratio at or below 0, or a negative KL" if bad else ""


RUNS = ({"clip_eps": 0.1}, {"clip_eps": 0.2}, {"clip_eps": math.inf})

EXPERIMENT = Experiment(
    name="ppo-clip",
    title="PPO's clip on one rollout: plain SGD vs Adam",
    arms=(
        # lr 0.1 is the ppo kata's behaviour run. Adam's lr 0.03 moves the logits by about as much per
        # step at the start (Adam's step is about lr whatever the gradient's size); β1 0.9 is torch's default.
        Arm("ppo", "ppo_loss", "SGD", runs=RUNS, settings={"lr": 0.1}),
        Arm("ppo", "ppo_loss", "Adam", runs=RUNS, settings={"lr": 0.03, "β1": 0.9}),
    ),
    train=train,
    series=SERIES,
    check=ratios_are_positive,
    findings=findings,
    label=lambda r: f"{r.arm} ε={eps_text(r)}",
    columns=(
        Column("optimiser", lambda r: r.arm, key=True),
        Column("ε", eps_text, key=True),
        Column("1 + ε", lambda r: "—" if upper(r) is None else f"{upper(r):g}"),
        Column("final ratio", lambda r: f"{final(r):.4f}"),
        Column("1/π_old", lambda r: f"{ACTIONS}"),
        Column("final KL", lambda r: f"{final(r, 'kl'):.4f}"),
        Column("clip_fraction", lambda r: f"{final(r, 'clip_fraction'):.3f}"),
    ),
    curves=(
        Curve("ratio π/π_old of the advantaged action per epoch, plain SGD", lambda r: r.series["ratio"],
              mark=upper, arms=("SGD",)),
        Curve("the same with Adam", lambda r: r.series["ratio"], mark=upper, arms=("Adam",)),
        Curve("KL(π_old ‖ π) per epoch", lambda r: r.series["kl"], log=True),
    ),
)
