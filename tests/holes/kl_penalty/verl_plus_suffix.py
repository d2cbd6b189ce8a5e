# check: bad_input
# WRONG: accepts verl's straight-through kinds 'k1+', 'k2+', 'k3+' (value of k, gradient of k2) instead of raising ValueError
import torch


def _forward(d, kind):
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d


def kl_penalty(logps, ref_logps, kind="k3"):
    base = kind[:-1] if isinstance(kind, str) and kind.endswith("+") else kind
    if base not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    value = _forward(d, base)
    if base == kind:
        return value
    # verl: value of k?, gradient of k2 (straight-through)
    k2 = 0.5 * d * d
    return k2 - k2.detach() + value.detach()
