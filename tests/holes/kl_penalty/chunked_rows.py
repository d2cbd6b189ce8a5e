# check: values
# WRONG: batches of more than 8 rows are processed in chunks of 8 and the loop bound range(0, B - 8, 8) drops the last chunk: its rows stay 0 (B = 33)
import torch

CHUNK = 8


def _k(d, kind):
    return -d if kind == "k1" else 0.5 * d * d if kind == "k2" else torch.expm1(d) - d


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    b = logps.shape[0]
    if b <= CHUNK:
        return _k(ref_logps - logps, kind)
    parts = [_k(ref_logps[i:i + CHUNK] - logps[i:i + CHUNK], kind) for i in range(0, b - CHUNK, CHUNK)]
    done = sum(p.shape[0] for p in parts)
    parts.append(torch.zeros_like(logps[done:]))
    return torch.cat(parts, 0)
