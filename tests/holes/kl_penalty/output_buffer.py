# check: values
# WRONG: without a graph the result is written into a cached per-shape buffer and returned: the next call of the same shape overwrites it
import torch

_BUFFERS = {}


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if torch.is_grad_enabled() and (logps.requires_grad or ref_logps.requires_grad):
        d = ref_logps - logps
        return -d if kind == "k1" else 0.5 * d * d if kind == "k2" else torch.expm1(d) - d
    key = (tuple(logps.shape), logps.dtype, logps.device)
    out = _BUFFERS.get(key)
    if out is None:
        out = _BUFFERS[key] = torch.empty_like(logps, memory_format=torch.contiguous_format)
    torch.sub(ref_logps, logps, out=out)  # d
    if kind == "k1":
        out.neg_()
    elif kind == "k2":
        out.mul_(out).mul_(0.5)
    else:
        e = torch.expm1(out)
        out.neg_().add_(e)
    return out
