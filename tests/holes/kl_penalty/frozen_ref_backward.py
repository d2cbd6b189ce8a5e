# check: gradients
# WRONG: custom backward with the wrong sign for d/d logps when ref_logps does not require grad (the frozen reference of real training)
import torch


class KL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, ref_logps, kind):
        d = ref_logps - logps
        ctx.save_for_backward(d)
        ctx.kind = kind
        if kind == "k1":
            return -d
        if kind == "k2":
            return 0.5 * d * d
        return torch.expm1(d) - d

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        dk = {"k1": lambda: -torch.ones_like(d), "k2": lambda: d, "k3": lambda: torch.expm1(d)}[ctx.kind]()
        grad_d = g * dk  # d k / d d
        if ctx.needs_input_grad[1]:
            return -grad_d, grad_d, None
        # frozen reference: "only logps needs it; d = ref - logps so the gradient is grad_d" (sign slip)
        return grad_d, None, None


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    return KL.apply(logps, ref_logps, kind)
