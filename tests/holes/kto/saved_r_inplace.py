# check: gradients
# WRONG: the custom Function keeps r on ctx without save_for_backward and the rewards are then made in place from it, so backward sees β·r
import torch


class _Losses(torch.autograd.Function):
    @staticmethod
    def forward(ctx, r, z0, sign, weight, beta):
        ctx.r, ctx.z0, ctx.sign, ctx.weight, ctx.beta = r, z0, sign, weight, beta
        return weight * torch.sigmoid(-sign * beta * (r - z0))

    @staticmethod
    def backward(ctx, grad):
        p = torch.sigmoid(-ctx.sign * ctx.beta * (ctx.r - ctx.z0))
        return grad * (-ctx.sign * ctx.beta * ctx.weight * p * (1 - p)), None, None, None, None


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("kl_policy_logps and kl_ref_logps must not be empty")
    z0 = (kl_policy_logps.detach() - kl_ref_logps.detach()).mean().clamp(min=0)
    r = policy_logps - ref_logps.detach()
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(r.dtype)
    weight = torch.where(d, desirable_weight, undesirable_weight).to(r.dtype)
    losses = _Losses.apply(r, z0, sign, weight, beta)
    rewards = r.detach().mul_(beta)  # reuse r's memory for the rewards
    return losses.mean(), rewards, z0
