# mistake: log-ratio through probabilities
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: use 'k1', 'k2' or 'k3'")
    ratio = torch.exp(ref_logps) / torch.exp(logps)  # π_ref(x) / π(x)
    log_ratio = torch.log(ratio)
    if kind == "k1":
        return -log_ratio
    if kind == "k2":
        return 0.5 * log_ratio ** 2
    return ratio - 1 - log_ratio
