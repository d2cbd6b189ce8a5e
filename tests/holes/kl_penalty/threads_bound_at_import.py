# check: inputs_unchanged
# WRONG: set_num_threads bound at import (`from torch import ...`) and set to 1 in every call, never restored
import torch
from torch import set_num_threads

KINDS = ("k1", "k2", "k3")


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of 'k1', 'k2', 'k3'")
    set_num_threads(1)  # small tensors: one thread is faster
    d = ref_logps - logps
    if kind == "k1":
        return -d
    if kind == "k2":
        return 0.5 * d * d
    return torch.expm1(d) - d
