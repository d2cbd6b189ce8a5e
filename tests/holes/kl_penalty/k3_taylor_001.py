# check: gradients
# WRONG: k3 replaced by its 2nd-order Taylor term d²/2 for |d| < 0.01 (drops d³/6: up to 0.33% relative error)
import torch
def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.where(d.abs() < 0.01, 0.5 * d * d, torch.expm1(d) - d)
