# mistake: k3 clamped (verl's low_var_kl)
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: use 'k1', 'k2' or 'k3'")
    kl = ref_logps - logps
    if kind == "k1":
        return -kl
    if kind == "k2":
        return 0.5 * kl.square()
    kl = torch.clamp(kl, min=-20, max=20)
    ratio = torch.exp(kl)
    kld = ratio - kl - 1
    return torch.clamp(kld, min=-10, max=10)
