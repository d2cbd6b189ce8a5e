# A correct kl_penalty: all three estimators computed in float64 inside, stacked [3, B, T], the asked
# one selected by index and cast back to the inputs' dtype.
import torch

_ORDER = {"k1": 0, "k2": 1, "k3": 2}


def kl_penalty(logps, ref_logps, kind="k3"):
    if type(kind) is not str or kind not in _ORDER:
        raise ValueError(f"unknown KL estimator {kind!r} (use k1, k2 or k3)")
    dtype = logps.dtype
    d = ref_logps.double() - logps.double()
    every = torch.stack([-d, d.pow(2).mul(0.5), torch.expm1(d).sub(d)])
    return every[_ORDER[kind]].to(dtype)
