# check: gradients
# WRONG: k2's custom backward reads d from a bfloat16 copy saved in forward: right values, gradient off by up to 0.4% relative
import torch


class _K2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, ref_logps):
        d = ref_logps - logps
        ctx.save_for_backward(d.to(torch.bfloat16))
        ctx.dt = d.dtype
        return 0.5 * d * d

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        gd = g * d.to(ctx.dt)
        return -gd, gd


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    d = ref_logps - logps
    if kind == "k2":
        return _K2.apply(logps, ref_logps)
    return -d if kind == "k1" else torch.expm1(d) - d
