# RIGHT: k3 as a degree-8 Taylor polynomial (Horner) where |d| < 0.05, expm1(d) - d elsewhere; kind validated via a frozenset
import torch

_KINDS = frozenset({"k1", "k2", "k3"})
_C = [1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880, 1 / 3628800]


def _k3(d):
    # d²·(1/2 + d/6 + d²/24 + ...)
    p = torch.full_like(d, _C[-1])
    for c in reversed(_C[:-1]):
        p = p * d + c
    series = d * d * p
    return torch.where(d.abs() < 0.05, series, torch.expm1(d) - d)


def kl_penalty(logps, ref_logps, kind="k3"):
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"kind must be one of k1, k2, k3; got {kind!r}")
    d = torch.sub(ref_logps, logps)
    if kind == "k3":
        return _k3(d)
    return torch.neg(d) if kind == "k1" else d.square().mul(0.5)
