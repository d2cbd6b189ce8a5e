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


# ---------------------------------------------------------------------- policy gradient: advantages
# Behaviour run (float64 rewards, B = 24 in 4 groups of 6). The properties hold exactly in real
# arithmetic; the bounds leave room for an implementation that computes in float32 inside
# (relative rounding about 1e-7 on advantages of order 1).
ADVANTAGES = {
    "group_sum": 1e-5,  # |sum of a group's advantages|, every scale
    "group_std": 1e-5,  # |std of a group's "group" advantages - s/(s + eps)|, relative (s: its rewards' std)
    "shift": 1e-5,  # |A(rewards with one group shifted) - A(rewards)| under "group" and "none"
    "batch_shift_min": 1e-3,  # under "batch" the shift must show (the report gives the size)
    "scale_none": 1e-5,  # |A_none(c·r) - c·A_none(r)|, relative to c
    # |A_group(c·r) - A_group(r)| <= eps/s · |A| · (1 - 1/c) <= 1e-4/0.5 · 2.04 · 2/3 = 2.7e-4 (spreads >= 0.5, G = 6)
    "scale_group": 5e-4,
    "rloo": 1e-5,  # |A_rloo - G/(G - 1)·A_none|
}

# ---------------------------------------------------------------------- policy gradient: kto
KTO = {
    "half_weight": 1e-5,  # |loss at r = z0 - weight / 2|, relative to the weight
    "bound_slack": 1e-6,  # losses must lie in [-slack, weight + slack]
    # |d loss / d r| at |r - z0| = 100, β = 0.1: β·σ(10)·σ(-10) = 4.5e-6; anything that keeps pushing
    # (DPO's -log σ gives β·σ(10) = 0.1 there) is far above.
    "far_gradient": 1e-4,
    "peak_gradient": 1e-4,  # |d loss / d r at r = z0| - β·weight/4, relative
    "z0_gradient": 0.0,  # gradient reaching kl_policy_logps: exactly none
    "train_min_move": 0.05,  # nats per token the desirable answer must gain and the undesirable lose
}
