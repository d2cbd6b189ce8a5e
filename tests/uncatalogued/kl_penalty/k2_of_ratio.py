# check: values
# named: k2 as ½·(r - 1)² instead of ½·(log r)²
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * (torch.exp(d) - 1) ** 2  # r = π_ref / π
    return torch.expm1(d) - d
