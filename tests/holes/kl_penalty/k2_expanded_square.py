# check: stability
# WRONG: k2 from the expanded square ½(logps² - 2·logps·ref + ref²): cancels catastrophically at log-probs near -200
import torch
def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * (logps * logps - 2 * logps * ref_logps + ref_logps * ref_logps)
    return torch.expm1(d) - d
