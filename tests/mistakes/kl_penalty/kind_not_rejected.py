# mistake: unknown kind not rejected
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d  # anything else falls through to k3
