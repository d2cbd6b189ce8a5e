# check: output_types
# WRONG: without a graph (the KL-in-reward call, under no_grad) the estimate is computed and returned in float64 for float32 inputs
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if not (torch.is_grad_enabled() and (logps.requires_grad or ref_logps.requires_grad)):
        logps, ref_logps = logps.double(), ref_logps.double()
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
