# check: bad_input
# WRONG: fast path for T = 0 returns before kind is validated: kl_penalty(empty, empty, kind="k4") returns instead of raising ValueError
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    d = ref_logps - logps
    if d.numel() == 0:
        return d * 0
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
