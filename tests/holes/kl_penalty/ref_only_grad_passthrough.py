# check: gradients
# WRONG: custom backward: when only ref_logps requires grad, its gradient is grad_output alone (k3's e^d - 1 factor dropped)
import torch


class _K3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, ref_logps):
        d = ref_logps - logps
        ctx.save_for_backward(torch.expm1(d))
        return torch.expm1(d) - d

    @staticmethod
    def backward(ctx, g):
        (e,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, g  # only the reference trains: pass the gradient straight through
        gl = -g * e
        return gl, (-gl if ctx.needs_input_grad[1] else None)


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    if kind == "k3":
        return _K3.apply(logps, ref_logps)
    d = ref_logps - logps
    return -d if kind == "k1" else 0.5 * d * d
