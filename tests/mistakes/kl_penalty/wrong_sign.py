# mistake: d with the wrong sign
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: use 'k1', 'k2' or 'k3'")
    log_ratio = logps - ref_logps  # log(π/π_ref): the other direction
    if kind == "k1":
        return log_ratio
    if kind == "k2":
        return log_ratio ** 2 / 2
    return torch.exp(log_ratio) - 1 - log_ratio
