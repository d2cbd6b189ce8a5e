# check: values
# WRONG: k1 as F.kl_div(ref_logps, logps, log_target=True) = π·(logps - ref_logps): k1 weighted by the token's probability, not the estimator -d
import torch
import torch.nn.functional as F


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return F.kl_div(ref_logps, logps, log_target=True, reduction="none")
    return 0.5 * d * d if kind == "k2" else torch.expm1(d) - d
