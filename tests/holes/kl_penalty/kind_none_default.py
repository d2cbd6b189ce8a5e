# check: bad_input
# WRONG: kind=None silently treated as the default k3 (`if kind is None: kind = "k3"`); None is not one of the three kinds and must raise ValueError
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind is None:
        kind = "k3"
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
