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
    # TODO: implement
    raise NotImplementedError
