# A correct kl_penalty: one custom autograd.Function for all three kinds, a hand-written backward for
# both inputs that honours needs_input_grad (a frozen reference gets None).
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
            return 0.5 * d.square()
        return torch.expm1(d) - d

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        if ctx.kind == "k1":
            gd = -g
        elif ctx.kind == "k2":
            gd = g * d
        else:
            gd = g * torch.expm1(d)
        return (-gd if ctx.needs_input_grad[0] else None,
                gd if ctx.needs_input_grad[1] else None, None)


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in {"k1", "k2", "k3"}:
        raise ValueError("kind must be 'k1', 'k2' or 'k3'; got %r" % (kind,))
    return _KL.apply(logps, ref_logps, kind)
