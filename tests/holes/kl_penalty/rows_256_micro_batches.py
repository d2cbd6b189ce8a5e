# check: values
# WRONG: rows processed in micro-batches of 256 with `B // 256 or 1` chunks: for B = 257 ... 511 the rows past the first 256 stay 0
import torch

MICRO = 256


def _k(d, kind):
    return -d if kind == "k1" else 0.5 * d * d if kind == "k2" else torch.expm1(d) - d


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    b = logps.shape[0]
    rows = min(b, MICRO)
    out = torch.zeros_like(logps)
    parts = []
    for c in range(b // MICRO or 1):
        s = slice(c * rows, (c + 1) * rows)
        parts.append(_k(ref_logps[s] - logps[s], kind))
    done = sum(p.shape[0] for p in parts)
    parts.append(out[done:])
    return torch.cat(parts, 0)
