"""Every numerical tolerance and behaviour threshold the grader uses, in one place, each with its reason.

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

# ---- gradcheck of code that computes in float32 inside (grader.checks.numeric.check_gradcheck)
# Outputs on float64 cases further than this (relative) from the reference show float32
# arithmetic inside: float64 code agrees to about 1e-15, float32 code only to about 6e-8.
FLOAT32_INSIDE = 1e-10
# Finite differences of float32 arithmetic: with eps = 1e-3 float32 rounding (6e-8 of the
# value) adds about 6e-8 / 2e-3 = 3e-5 relative error, truncation about eps² = 1e-6; a wrong
# backward (a sign, a missing factor) is off by order 1.
GRADCHECK_FLOAT32 = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-2}


# No case is in these dtypes, but a check may compare a submission's output with its own (a
# float16 batch with its rows): about 3 of float16's and bfloat16's significant digits.
HALF_TOLERANCES: dict[str, tuple[float, float]] = {"float16": (2e-3, 1e-3), "bfloat16": (2e-2, 1e-2)}


def tolerance(dtype_name: str, scale: float = 1.0) -> tuple[float, float]:
    """(rtol, atol) for inputs of `dtype_name` whose magnitude is about `scale`; exact (0, 0) for
    any other dtype (integers, bool)."""
    name = dtype_name.replace("torch.", "")
    rtol, atol = TOLERANCES.get(name) or HALF_TOLERANCES.get(name) or (0.0, 0.0)
    return rtol, atol * max(1.0, scale)


# ------------------------------------------------------------------ behaviour thresholds
# A behaviour check trains the toy policy (grader/catalog/toy.py) or a small model with the
# submission's own code and judges the curves. Each threshold sits orders of magnitude from
# both what the reference does and what the catalogued mistakes do, so no seed decides a
# verdict; the figures quoted are the reference's at seeds 0 and 7.
#
# The numbers a behaviour computes itself (a loss at a constructed point, a repeated batch)
# are compared at BEHAVIOUR_RTOL, relative to max(1, |value|): float64 inputs, a handful of
# operations, so correct code lands within 1e-12; float32 inside is still within 1e-6.
BEHAVIOUR_RTOL = 1e-5

# sequence_logps: logits aimed at the next token with a margin of 20 score 0.0 per token;
# aimed at each position's own token, -20.03. "About 0" is within 0.01 of it; "about -20" is below
# half the margin. Appending masked padding must not move a score by more than 1e-4 relative
# (the reference moves it by exactly 0).
SEQUENCE_NEXT_MEAN_ATOL = 0.01
SEQUENCE_OWN_MEAN_MAX_FRACTION = 0.5  # of the margin, below 0
SEQUENCE_PADDING_RTOL = 1e-4

# dpo: π(y_l) must end below half its start (the reference: 0.009 of it at β = 0.1, 0.18 at
# β = 0.5), and log π(y_l) must still fall by more than 0.02 nats over the last third (the
# reference: 0.79 and 0.11 nats; a loss with a fixed point moves by less than 1e-4).
DPO_PI_REJECTED_END_FRACTION = 0.5
DPO_STILL_FALLING_NATS = 0.02

# ipo: h must end within 2 % of 1/(2β) (the reference: within 2e-7; the catalogued wrong
# targets 1/β and 1/(4β) are 50 % off or more), and log π(y_l) move by less than 0.01 nats
# over the last third (the reference: 3e-5).
IPO_TARGET_RTOL = 0.02
IPO_SETTLED_NATS = 0.01

# orpo: training must raise log π(y_w) and lower log π(y_l) by 0.5 nats each (the
# reference: +3.5 and -2.7 or more), and λ = 1 must end log π(y_l) 0.05 nats below λ = 0
# (the reference: 0.49 below).
ORPO_MOVE_NATS = 0.5
ORPO_ODDS_EXTRA_NATS = 0.05

# bt: the gap r0 - r3 must grow by more than 0.1 between checkpoints (the reference: 4.8,
# 7.2, 9.4 after 30, 100, 300 epochs); forward(i, j) + forward(j, i) within 1e-5 of 1 and
# forward(i, j) within 1e-4 of σ(r_i - r_j) after training (float32 rewards).
BT_GAP_GROWTH = 0.1
BT_COMPLEMENT_ATOL = 1e-5
BT_FORWARD_ATOL = 1e-4
# bt: forward's probabilities near 0 and near 1 are also held to 2.5e-7 absolute, plus the dtype's
# rtol of the nearer end, min(P, 1 - P) (float32's atol of 1e-5 would pass a clamp into [1e-6, 1],
# its rtol of 1e-4 times P a clamp into [0, 1 - 1e-5]): two float32 ulps of 1.0, which σ in float32
# meets in every form (sigmoid, softmax over [r_c, r_r], 1 - σ(-d), (1 + tanh(d/2)) / 2 are off by
# at most 9e-8, at either end); a clamp at ε or 1 - ε is off by ε where σ(r_c - r_r) is 0 or 1, so
# clamps at ε >= 3e-7 fail.
BT_PROBABILITY_ATOL = 2.5e-7

# ppo (grader/catalog/ppo/behaviour.py; the ppo-clip experiment uses the same numbers): on-policy
# policy_loss must equal -mean(A) at BEHAVIOUR_RTOL. The toy run is plain SGD, lr 0.1, 120 epochs
# on one rollout (grader/catalog/ppo/toy.py). A clipped run's ratio must end above 1 + ε by at
# most 0.05 (the reference: 1.1196 and 1.2111 at ε = 0.1 and 0.2; over seeds 0-59 never more
# than 0.034 above, one step's move; the min of the negated terms and no clipping end above 1.5)
# and move by at most 1e-6 over the last third (the reference: exactly 0, the gradient is 0
# there). With ε = inf the ratio must pass 2.0 and still grow by more than 1e-3 over the last
# third (the reference: 4.38 and +0.60, 4.16 and +0.78; 3.13 at the least over seeds 0-59).
PPO_PLATEAU_MARGIN = 0.05
PPO_PLATEAU_FLAT = 1e-6
PPO_UNCLIPPED_MIN = 2.0
PPO_UNCLIPPED_GROWTH = 1e-3
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


# advantages (policy gradient): float64 rewards, 4 groups of 6 with spreads of exactly 0.5 to 3.
# The properties hold exactly in real arithmetic (the reference: within 5e-15); the bounds
# leave room for float32 inside (about 1e-7 relative on advantages of order 1).
ADVANTAGES_GROUP_SUM_ATOL = 1e-5  # |sum of a group's advantages|, every scale
ADVANTAGES_GROUP_STD_RTOL = 1e-5  # std of a group's "group" advantages against s/(s + eps), s: its rewards' std
ADVANTAGES_SHIFT_ATOL = 1e-5  # one group's rewards + 7: change under "group" and "none"
ADVANTAGES_BATCH_SHIFT_MIN = 1e-3  # ... and under "batch" it must show (the reference: 0.3 to 0.5)
ADVANTAGES_SCALE_NONE_RTOL = 1e-5  # |A_none(c·r) - c·A_none(r)| / c
# |A_group(c·r) - A_group(r)| <= eps/s · |A| · (1 - 1/c) <= 1e-4/0.5 · 2.04 · 2/3 = 2.7e-4 with c = 3
# (the reference: 1.9e-4 to 2.3e-4); a wrong scale moves it by 0.1 or more.
ADVANTAGES_SCALE_GROUP_ATOL = 5e-4
ADVANTAGES_RLOO_ATOL = 1e-5  # |A_rloo - G/(G - 1)·A_none|

# kto (policy gradient): B = 1 probes at β = 0.1, z0 = 2, weights 1 and 1.5, then the toy policy.
KTO_HALF_WEIGHT_RTOL = 1e-5  # loss at r = z0 against weight / 2 (the reference: exact)
KTO_BOUND_SLACK = 1e-6  # every loss within [-slack, weight + slack]
# |d loss / d r| at |r - z0| = 100: β·w·σ(10)·σ(-10) = 4.5e-6 · w for KTO; DPO's -log σ gives β·σ(10) = 0.1.
KTO_FAR_GRADIENT_MAX = 1e-4
KTO_PEAK_GRADIENT_RTOL = 1e-4  # |d loss / d r| at r = z0 against β·weight/4
# Training must raise the desirable answer's and lower the undesirable one's per-token log π by
# this much (the reference: +1.37 and -1.52 nats over 60 steps).
KTO_TRAIN_MOVE_NATS = 0.05


# ------------------------------------------------------------------ experiments
# `kata experiment dpo-vs-ipo` (grader/practice/experiments/dpo_vs_ipo.py). Its runs are
# 200 steps of plain gradient descent on the toy policy, in float32.
# "Still falling": mean per-token log π(y_l) dropped by more than this over the last third
# of the steps, as in the dpo kata's behaviour check (DPO's reference runs drop by 0.1 nats
# or more there; a run that has settled, IPO's, moves by less than 1e-4).
EXPERIMENT_STILL_FALLING_NATS = 0.02
# "At its target": IPO's final h within this fraction of 1/(2β). The reference ends within
# 1e-3 of the target; a wrong target (1/β, 1/(4β)) is off by 50 % or more.
EXPERIMENT_TARGET_RTOL = 0.01


# ------------------------------------------------------------------ kl_penalty
# The advisory `k3_precision` check: k3 on float32 inputs with 1e-5 <= |d| < 1e-3, against
# expm1(d) - d computed in float64 from the same float32 inputs. k3 ≈ d²/2 there, so
# e^d - 1 - d keeps none of its digits below |d| ≈ 1e-4 (e^d is rounded to 6e-8, k3 is 5e-11
# at |d| = 1e-5: worst relative error measured about 1e3), while expm1(d) - d is off by at
# most half an ulp of d, 1.2e-7 / |d| relative: 1.2e-2 at |d| = 1e-5 (measured 8e-3 worst,
# 8e-4 on average). The bound sits between the two, four times above the good form's worst.
K3_PRECISION_RANGE = (1e-5, 1e-3)
K3_PRECISION_MAX_REL = 5e-2

# The behaviour check sums k1, k2, k3 against π over a vocabulary of 32 in float64: the
# unbiased estimators must give KL(π‖π_ref) within atol + rtol·KL. float64 sums are good to
# 1e-15; the atol is for an implementation that computes in float32 inside, which rounds
# log-probs near -3.5 by 2.4e-7 and so moves E_π[k1] by up to about 5e-7 (KL of the close
# pair is about 3e-3, so a wrong estimator, off by a fraction of KL, is still far outside).
KL_EXPECTATION_RTOL = 1e-5
KL_EXPECTATION_ATOL = 1e-6
# E_π[k2] is biased: on the far pair (π uniform, π_ref's logits N(0, 2²)) it exceeds KL by 43%
# to 215% over seeds 0-199; on the close pair (π_ref's logits π's moved by N(0, 0.1²)) it is
# within 7% of KL. A k2 within 20% of KL on the far pair is not d²/2; nor is one more than 15%
# off on the close pair.
KL_K2_FAR_MIN_BIAS = 0.20
KL_K2_CLOSE_MAX_BIAS = 0.15


# ------------------------------------------------------------------ gae
# The behaviour check compares the user's advantages with closed forms (TD errors at λ = 0,
# reward-to-go minus V at λ = γ = 1, (γλ)^(L-1-t)·r for a single reward) on float64 inputs of
# magnitude about 1: |got - want| <= atol + rtol·|want|, float32 arithmetic inside allowed.
GAE_BEHAVIOUR_RTOL = 1e-5
GAE_BEHAVIOUR_ATOL = 1e-6
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


# ------------------------------------------------------------------ pairwise katas (dpo, ipo, simpo, orpo)
# The long-response case (grader/catalog/pair_battery.py) sums over 4000 float32 log-probs a row
# (sums near 6000 nats): float32 holds such a sum to 5e-4, and correct code summing the log-ratio
# or the policy's and the reference's log-probs apart differs from the reference by up to 6e-4 in
# a sum (1.8e-4 in a reward at β = 0.3, softplus variant, seed 0). The case's scale is this fraction
# of its largest |row sum|: an absolute tolerance of 1e-5 · 6000 / 20 = 3e-3, five times that,
# while a response cut at 4096 tokens drops about 100 tokens (sums off by nats).
LONG_SUM_SCALE = 1 / 20

# ------------------------------------------------------------------ the options every grading takes
# A seed is a 64-bit signed integer (what torch.Generator and the results' integers hold); a
# timeout and a memory limit are finite and below what the kernel's limits and timers take.
SEED_RANGE = (-(1 << 63), (1 << 63) - 1)
TIMEOUT_RANGE = (0.1, 86_400.0)  # seconds per kata
MEMORY_MB_RANGE = (16, 1 << 20)  # MB on top of torch itself


def out_of_range(name: str, value: float, bounds: tuple[float, float]) -> str:
    """Why `value` is not a usable `name` ("" when it is): not finite, or outside `bounds`."""
    lo, hi = bounds
    if not (lo <= value <= hi):  # NaN fails both comparisons
        return f"{name} must be a number from {shown(lo)} to {shown(hi)}, got {value!r}"
    return ""


def shown(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def parse_within(kind: type, bounds: tuple[float, float], text: object) -> float:
    """`text` as a `kind` in `bounds`, for the command line and the pytest plugin alike.
    Raises ValueError saying why not (not a number, NaN, infinite, out of range)."""
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not {'an integer' if kind is int else 'a number'}.") from None
    if out_of_range("value", value, bounds):
        raise ValueError(f"{text} is not in the range {shown(bounds[0])} to {shown(bounds[1])}.")
    return value
