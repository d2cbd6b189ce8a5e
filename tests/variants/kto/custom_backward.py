# A hand-written autograd Function for the per-example losses, with an exact backward: d/dr of w·σ(-s·β·(r - z0)) = -s·β·w·σ(x)·(1 - σ(x)), x = -s·β·(r - z0).
import torch


class _Losses(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r, z0, sign, weight, beta):
        x = -sign * beta * (r - z0)
        p = torch.sigmoid(x)
        ctx.save_for_backward(p, sign, weight)
        ctx.beta = beta
        return weight * p

    @staticmethod
    def backward(ctx, grad):
        p, sign, weight = ctx.saved_tensors
        d = -sign * ctx.beta * weight * p * (1 - p)
        return grad * d, None, None, None, None


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("the KL estimate needs at least one mismatched pair")
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).mean().clamp_min(0)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(r.dtype)
    weight = torch.where(d, desirable_weight, undesirable_weight).to(r.dtype)
    loss = _Losses.apply(r, z0, sign, weight, beta).mean()
    return loss, (beta * r).detach(), z0
