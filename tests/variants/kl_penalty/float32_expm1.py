# A correct kl_penalty that computes in float32 inside and casts back; k3 = expm1(d) - d.
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in {"k1", "k2", "k3"}:
        raise ValueError("kind should be 'k1', 'k2' or 'k3', not %r" % (kind,))
    dtype = logps.dtype
    log_ratio = ref_logps.float() - logps.float()
    if kind == "k1":
        out = logps.float() - ref_logps.float()
    elif kind == "k2":
        out = 0.5 * log_ratio * log_ratio
    else:
        out = torch.expm1(log_ratio) - log_ratio
    return out.to(dtype)
