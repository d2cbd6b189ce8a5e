# check: output_types
# WRONG: the kind picked by a one-hot weight from torch.tensor([...]) in the default dtype: under a float64 default, float32 inputs give a float64 result
import torch

_KINDS = ("k1", "k2", "k3")


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of 'k1', 'k2', 'k3'")
    d = ref_logps - logps
    all_three = torch.stack([-d, 0.5 * d * d, torch.expm1(d) - d])  # [3, B, T]
    onehot = torch.tensor([float(k == kind) for k in _KINDS])  # [3] default dtype
    return (all_three * onehot[:, None, None]).sum(0)
