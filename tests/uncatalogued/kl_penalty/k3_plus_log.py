# check: values
# named: k3 with + log r: e^d - 1 + d instead of e^d - 1 - d
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) + d  # (r - 1) + log r
