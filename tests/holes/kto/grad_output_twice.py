# check: gradients
# WRONG: the hand-written backward multiplies by grad_output twice (grad_output² · dL/dr): right only when the upstream gradient is 1
import torch


def _grad_r(grad_output, p, sign, weight, beta, n):
    return grad_output * (-sign * beta * weight * p * (1 - p) / n)


class _KTOMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r, z0, sign, weight, beta):
        p = torch.sigmoid(-sign * beta * (r - z0))
        ctx.save_for_backward(p, sign, weight)
        ctx.beta = beta
        return (weight * p).mean()

    @staticmethod
    def backward(ctx, grad_output):
        p, sign, weight = ctx.saved_tensors
        g = _grad_r(grad_output, p, sign, weight, ctx.beta, p.shape[0])
        return grad_output * g, None, None, None, None


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).mean().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(r.dtype)
    weight = torch.where(d, desirable_weight, undesirable_weight).to(r.dtype)
    loss = _KTOMean.apply(r, z0, sign, weight, beta)
    return loss, (beta * r).detach(), z0
