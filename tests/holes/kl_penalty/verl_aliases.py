# check: bad_input
# WRONG: accepts verl's kind names 'mse' (k2), 'low_var_kl' (k3) and 'abs' (|d|) instead of raising ValueError
import torch

_TABLE = {
    "k1": lambda d: -d,
    "k2": lambda d: 0.5 * d * d, "mse": lambda d: 0.5 * d * d,
    "k3": lambda d: torch.expm1(d) - d, "low_var_kl": lambda d: torch.expm1(d) - d,
    "abs": lambda d: d.abs(),
}


def kl_penalty(logps, ref_logps, kind="k3"):
    if not isinstance(kind, str) or kind not in _TABLE:
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    return _TABLE[kind](ref_logps - logps)
