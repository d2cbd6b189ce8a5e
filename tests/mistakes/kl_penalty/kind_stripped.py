# mistake: unknown kind not rejected
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    kind = kind.strip()  # " k3" is not a kind the contract knows: it must raise, not pass as k3
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
