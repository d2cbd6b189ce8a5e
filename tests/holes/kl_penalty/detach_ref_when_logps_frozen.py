# check: gradients
# WRONG: ref_logps detached whenever logps carries no graph: with ref_logps alone requiring grad, no gradient reaches it (statement: gradients flow to ref_logps when it requires grad)
import torch


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if not logps.requires_grad:
        ref_logps = ref_logps.detach()
    d = ref_logps - logps
    if kind == "k1":
        return -d
    return 0.5 * d * d if kind == "k2" else torch.expm1(d) - d
