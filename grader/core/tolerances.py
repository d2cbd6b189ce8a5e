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


# ---------------------------------------------------------------- grpo's behaviour run
# (grader/catalog/grpo/behaviour.py). Everything there runs in float32.
GRPO_BEHAVIOUR = {
    # On-policy with β = 0 the "grpo" loss is -mean(A), 0 for group advantages; summing 4 advantages
    # near ±1.2 in float32 leaves about 1e-7.
    "zero_loss": 1e-6,
    # The gradient -A_i/(B·|o_i|) is one float32 product and quotient away: relative error below 1e-4,
    # measured against max(|expected|, grad_floor) so that padding's exact 0 is judged absolutely.
    "grad_rtol": 1e-4,
    "grad_floor": 1e-3,
    # 4× (lengths 2 and 8) under "grpo", 1× under "bnpo" and "dr_grpo"; float32 rounding is ~1e-7.
    "length_rtol": 1e-3,
    # Training: 50 SGD steps of lr 2 on a [6, 8] table, one group of 8 samples per step (small, so
    # that a correct loss written as a Python loop over rows stays fast). Over seeds 0-24 the
    # reference's expected reward rises from 0.12-0.13 to 0.66-0.76 (β = 0), 0.63-0.73 (β = 0.04)
    # and 0.39-0.46 (β = 0.4), by at least 0.27; the final KL is 5.0-6.3, 4.4-5.8 and 1.5-2.0, each
    # β's at most 0.93× the previous one's on every seed.
    "train_steps": 50,
    "train_lr": 2.0,
    "train_betas": (0.0, 0.04, 0.4),
    "reward_gain": 0.15,
    "kl_drop": 0.97,
}


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
# `kata experiment grpo-length` (grader/practice/experiments/grpo_length.py).
EXPERIMENT_GRPO_LENGTH = {
    # The weight of a 2-token completion's token over a 32-token one's: 16 under "grpo", 1 under
    # "bnpo" and "dr_grpo", up to float32 rounding (about 1e-6); a wrong normaliser is off by 2× or more.
    "weight_rtol": 0.01,
    # Over 200 steps (seed 0) the reference's wrong answers grow from 6.5 to about 8.5 tokens under
    # "grpo" and right ones shrink to about 2.2; under "dr_grpo" both move by about 0.1 (sampling
    # noise). A finding holds when "grpo" moves by at least `length_moves` tokens the biased way and
    # "dr_grpo" by at most `unbiased_share` of that.
    "length_moves": 0.5,
    "unbiased_share": 0.25,
}
