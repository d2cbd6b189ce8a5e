# check: output_types
# WRONG: T = 0 short-circuits (after the kind check) to torch.zeros(logps.shape): float32 whatever the inputs' dtype, so float64 inputs with T = 0 give a float32 result (statement: result in the inputs' dtype, T may be 0; only a float32 empty case is graded)
import torch
from torch import Tensor

KINDS = ("k1", "k2", "k3")


def kl_penalty(logps: Tensor, ref_logps: Tensor, kind: str = "k3") -> Tensor:
    """Per-token estimates of KL(π ‖ π_ref) from tokens sampled from π (Schulman, "Approximating
    KL divergence", 2020).

    With r = π_ref(x) / π(x) and d = log r = ref_logps - logps, the blog's three estimators are
        k1 = -log r = -d                  unbiased, high variance, negative on some tokens
        k2 = (log r)² / 2 = d² / 2        biased, low variance
        k3 = (r - 1) - log r = e^d - 1 - d  unbiased, low variance, never negative

    Args:
        logps: [B, T] per-token log-probs of the sampled tokens under the policy π.
        ref_logps: [B, T] the same tokens' log-probs under the reference model π_ref.
        kind: "k1", "k2" or "k3"; anything else raises ValueError.

    Returns:
        [B, T] the per-token estimate, in the inputs' dtype. No clamping; right for |d| up to 20.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of 'k1', 'k2', 'k3'")
    # Stay in log space: exp(logps) underflows to 0 below about -104 (float32), so a ratio
    # of probabilities would be 0 / 0 where the log-ratio d is perfectly ordinary.
    if logps.numel() == 0:  # no token: nothing to estimate
        return torch.zeros(logps.shape)
    d = ref_logps - logps  # [B, T] log r
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    # expm1(d) - d keeps the digits that e^d - 1 - d cancels away for small |d|
    # (k3 ≈ d²/2 there, while e^d rounds at 1e-7 relative in float32).
    return torch.expm1(d) - d  # [B, T]
