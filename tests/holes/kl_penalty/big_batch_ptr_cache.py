# check: values
# WRONG: results memoised by the inputs' data_ptr, shape, dtype and kind for batches of more than 1024 tokens: a buffer refilled in place gets the previous call's KL back
import torch

_CACHE = {}


def _k(d, kind):
    return -d if kind == "k1" else 0.5 * d * d if kind == "k2" else torch.expm1(d) - d


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if logps.numel() <= 1024 or logps.requires_grad or ref_logps.requires_grad:
        return _k(ref_logps - logps, kind)
    key = (logps.data_ptr(), ref_logps.data_ptr(), tuple(logps.shape), logps.dtype, kind)
    if key not in _CACHE:
        _CACHE[key] = _k(ref_logps - logps, kind)
    return _CACHE[key].clone()
