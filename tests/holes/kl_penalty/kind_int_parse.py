# check: bad_input
# WRONG: kind parsed as "k" + an integer (kind[1:].isdigit(), int(...) in 1..3): "k01", "k003" are accepted as k1/k3 instead of raising ValueError (statement: only "k1", "k2", "k3")
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if not (isinstance(kind, str) and kind.startswith("k") and kind[1:].isdigit() and int(kind[1:]) in (1, 2, 3)):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    n = int(kind[1:])
    d = ref_logps - logps
    if n == 1:
        return -d
    if n == 2:
        return 0.5 * d * d
    return torch.expm1(d) - d
