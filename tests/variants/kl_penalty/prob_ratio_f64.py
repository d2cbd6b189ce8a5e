# A correct kl_penalty through probabilities, but in float64 (e^-200 is a normal float64, so over the
# stated range r = π_ref/π is never 0/0): k3 = r - 1 - log r, cast back.
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    p, q = logps.double().exp(), ref_logps.double().exp()
    r = q / p
    log_r = torch.log(r)
    if kind == "k1":
        out = -log_r
    elif kind == "k2":
        out = 0.5 * log_r ** 2
    else:
        out = (r - 1) - log_r
    return out.to(logps.dtype)
