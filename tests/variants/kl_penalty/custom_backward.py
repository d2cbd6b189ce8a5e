# A correct kl_penalty whose k3 has a hand-written backward (exercises the gradcheck check).
import torch


class K3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, d):
        ctx.save_for_backward(d)
        return torch.expm1(d) - d

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        return grad * torch.expm1(d)  # d/dd (e^d - 1 - d) = e^d - 1


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"kind {kind!r} is not one of k1, k2, k3")
    d = ref_logps - logps
    if kind == "k3":
        return K3.apply(d)
    return -d if kind == "k1" else 0.5 * d * d
