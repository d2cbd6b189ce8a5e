# check: gradients
# WRONG: d snapped to a fresh constant 0 where logps == ref_logps, so k1's gradient there is 0 instead of ∓1 (the first PPO step gives no gradient)
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    same = logps == ref_logps
    # "identical tokens have no KL: write an exact 0 (no -0.0, no rounding noise)"
    d = torch.where(same, torch.zeros_like(logps).detach(), ref_logps - logps)
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
