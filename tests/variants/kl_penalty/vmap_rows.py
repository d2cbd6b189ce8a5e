# A correct kl_penalty: the estimator written for one token (0-dim) and lifted with torch.vmap twice.
import torch

KINDS = ("k1", "k2", "k3")


def _one(lp, rlp, which: int):
    d = rlp - lp
    if which == 0:
        return -d
    if which == 1:
        return d * d * 0.5
    return torch.special.expm1(d) - d


def kl_penalty(logps, ref_logps, kind="k3"):
    try:
        which = KINDS.index(kind)
    except ValueError:
        raise ValueError(f"kind {kind!r} is none of k1, k2, k3") from None
    if logps.numel() == 0:
        return (ref_logps - logps) * 0  # keeps dtype, shape and graph
    f = torch.vmap(torch.vmap(lambda a, b: _one(a, b, which)))
    return f(logps, ref_logps)
