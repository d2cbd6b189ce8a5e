# check: gradients
# WRONG: the fused autograd Function returns the gradient it computed in forward without multiplying by grad_output
import torch


class _FusedKTO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r, z0, sign, weight, beta):
        x = -sign * beta * (r - z0)
        p = torch.sigmoid(x)
        losses = weight * p
        n = r.shape[0]
        ctx.save_for_backward(-sign * beta * weight * p * (1 - p) / n)  # d mean / d r, precomputed
        return losses.mean()

    @staticmethod
    def backward(ctx, grad_output):
        (g,) = ctx.saved_tensors
        return g, None, None, None, None  # grad_output assumed to be 1


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).mean().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(r.dtype)
    weight = torch.where(d, desirable_weight, undesirable_weight).to(r.dtype)
    loss = _FusedKTO.apply(r, z0, sign, weight, beta)
    return loss, (beta * r).detach(), z0
