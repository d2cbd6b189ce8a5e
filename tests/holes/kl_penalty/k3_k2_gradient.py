# check: gradients
# WRONG: kind 'k3' returns k3's value with k2's gradient (k2 - k2.detach() + k3.detach()), verl's 'k3+' used for plain 'k3'
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    k2 = 0.5 * d * d
    if kind == "k2":
        return k2
    return k2 - k2.detach() + (torch.expm1(d) - d).detach()
