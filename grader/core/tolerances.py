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


# ---------------------------------------------------------------- kl_penalty
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


# ---------------------------------------------------------------- gae
# The behaviour check compares the user's advantages with closed forms (TD errors at λ = 0,
# reward-to-go minus V at λ = γ = 1, (γλ)^(L-1-t)·r for a single reward) on float64 inputs of
# magnitude about 1: |got - want| <= atol + rtol·|want|, float32 arithmetic inside allowed.
GAE_BEHAVIOUR_RTOL = 1e-5
GAE_BEHAVIOUR_ATOL = 1e-6
