# check: bad_input
# WRONG: kind.rstrip() before validation: "k3 " / "k3\n" accepted as k3 instead of raising ValueError
import torch
def kl_penalty(logps, ref_logps, kind="k3"):
    kind = kind.rstrip()
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
