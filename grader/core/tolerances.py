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

# ---- gradcheck of code that computes in float32 inside (grader.checks.numeric.check_gradcheck)
# Outputs on float64 cases further than this (relative) from the reference show float32
# arithmetic inside: float64 code agrees to about 1e-15, float32 code only to about 6e-8.
FLOAT32_INSIDE = 1e-10
# Finite differences of float32 arithmetic: with eps = 1e-3 float32 rounding (6e-8 of the
# value) adds about 6e-8 / 2e-3 = 3e-5 relative error, truncation about eps² = 1e-6; a wrong
# backward (a sign, a missing factor) is off by order 1.
GRADCHECK_FLOAT32 = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-2}


def tolerance(dtype_name: str, scale: float = 1.0) -> tuple[float, float]:
    """(rtol, atol) for inputs of `dtype_name` whose magnitude is about `scale`."""
    name = dtype_name.replace("torch.", "")
    rtol, atol = TOLERANCES[name]
    return rtol, atol * max(1.0, scale)
