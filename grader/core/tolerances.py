"""Every numerical tolerance the grader uses, in one place.

A value passes when |got - expected| <= atol + rtol * |expected|, element by element
(the rule of `torch.isclose`). Tolerances follow the dtype of the *inputs*.

float64 is deliberately not held to float64 precision: the contract accepts an
implementation that computes in float32 inside and casts back, so a float64 case only
demands what float32 arithmetic can deliver on well-conditioned inputs. Every catalogued
mistake is off by orders of magnitude more than this.

Extreme-magnitude cases (log-ratios of thousands of nats, logit gaps of thousands) carry a
`scale`: their absolute tolerance, for values and gradients alike, grows with the size of
the inputs, because subtracting two numbers near 5000 in float32 loses about
5000 * 6e-8 = 3e-4 however carefully it is written (a softmax of logits near 2000 computed
in float32 has probabilities, and so gradients, off by about 1e-4). What those cases exist
to catch, inf and NaN from log(sigmoid) or log(softmax), no tolerance lets through.
"""
from __future__ import annotations

TOLERANCES: dict[str, tuple[float, float]] = {
    # dtype name: (rtol, atol)
    "float32": (1e-4, 1e-5),
    "float64": (1e-5, 1e-6),
}

# gradcheck runs on float64 inputs with the submission's own backward.
GRADCHECK = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-4}


def tolerance(dtype_name: str, scale: float = 1.0) -> tuple[float, float]:
    """(rtol, atol) for inputs of `dtype_name` whose magnitude is about `scale`."""
    name = dtype_name.replace("torch.", "")
    rtol, atol = TOLERANCES[name]
    return rtol, atol * max(1.0, scale)


# ------------------------------------------------------------------ experiments
# `kata experiment dpo-vs-ipo` (grader/practice/experiments/dpo_vs_ipo.py). Its runs are
# 200 steps of plain gradient descent on the toy policy, in float32.
# "Still falling": mean per-token log π(y_l) dropped by more than this over the last third
# of the steps. DPO's reference runs drop by 0.3 to 1 nat there; a run that has settled
# (IPO's) moves by less than 1e-4, so 0.02 separates the two by orders of magnitude either way.
EXPERIMENT_STILL_FALLING_NATS = 0.02
# "At its target": IPO's final h within this fraction of 1/(2β). The reference ends within
# 1e-3 of the target; a wrong target (1/β, 1/(4β)) is off by 50 % or more.
EXPERIMENT_TARGET_RTOL = 0.01


# ---------------------------------------------------------------- ppo: behaviour thresholds
# Used by grader.catalog.ppo.behaviour (the kata's behaviour check) and the ppo-clip experiment.
PPO = {
    # On-policy (logps == old_logps) policy_loss must equal -mean(A); the toy is float64, so this
    # only leaves room for an implementation that computes in float32 inside.
    "on_policy_rtol": 1e-5,
    "on_policy_atol": 1e-6,
    # The toy run: plain SGD, lr 0.1, 120 epochs (grader.catalog.ppo.toy). One step near the bound
    # moves the advantaged ratio by 0.01 to 0.025 (with the rollout's count of advantaged tokens), so a
    # clipped run stops within one step above 1 + ε;
    # 0.05 leaves room for a float32-inside implementation and still fails anything that keeps going.
    "plateau_margin": 0.05,
    # Over the last third of the epochs a clipped run's ratio must move by at most this: the gradient
    # is exactly 0 there, so the logits do not move at all.
    "plateau_flat": 1e-6,
    # With ε = inf the ratio passes this (1.2 + 0.8: far past any clip bound) on its way to 1/π_old = 5 ...
    "unclipped_min": 2.0,
    # ... and is still growing over the last third of the epochs.
    "unclipped_growth": 1e-3,
}
