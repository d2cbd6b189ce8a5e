# check: gradients
# WRONG: a custom backward multiplies grad_output in place (g.mul_(e^d - 1)): raises on an expanded grad and corrupts another branch's gradient
import torch


class _KL(torch.autograd.Function):
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
        if ctx.kind == "k1":
            gd = g.neg_()
        elif ctx.kind == "k2":
            gd = g.mul_(d)
        else:
            gd = g.mul_(torch.expm1(d))
        return (-gd if ctx.needs_input_grad[0] else None, gd if ctx.needs_input_grad[1] else None, None)


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    return _KL.apply(logps, ref_logps, kind)
