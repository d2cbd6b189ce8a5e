# check: gradients
# WRONG: a custom backward flattens grad_output with .view(-1): raises on a non-contiguous grad (kl.sum(-1).mean(), kl concatenated along T)
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
        flat_g = g.view(-1)  # "kernels want a flat buffer"
        flat_d = d.reshape(-1)
        if ctx.kind == "k1":
            gd = -flat_g
        elif ctx.kind == "k2":
            gd = flat_g * flat_d
        else:
            gd = flat_g * torch.expm1(flat_d)
        gd = gd.view(d.shape)
        return (-gd if ctx.needs_input_grad[0] else None, gd if ctx.needs_input_grad[1] else None, None)


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {kind!r}: expected 'k1', 'k2' or 'k3'")
    return _KL.apply(logps, ref_logps, kind)
