# One autograd Function for the whole mean loss, forward and backward in float64 whatever the input dtype (cast back), backward times grad_output; z0 through .item() and new_tensor.
import torch


class _KTO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, policy, ref, z0, sign, weight, beta):
        x = sign * beta * (policy.double() - ref.double() - z0)
        p = torch.sigmoid(-x)  # 1 - σ(x)
        ctx.save_for_backward(p, sign, weight)
        ctx.beta, ctx.dtype = beta, policy.dtype
        return (weight * p).mean().to(policy.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        p, sign, weight = ctx.saved_tensors
        g = grad_output.double() * (-sign * ctx.beta * weight * p * (1 - p)) / p.shape[0]
        return g.to(ctx.dtype), None, None, None, None, None


def kto_loss(policy_logps, ref_logps, kl_policy_logps, kl_ref_logps, desirable, beta=0.1,
             desirable_weight=1.0, undesirable_weight=1.0):
    if kl_policy_logps.numel() == 0 or kl_ref_logps.numel() == 0:
        raise ValueError("no mismatched pairs (empty kl inputs)")
    z0_value = max(0.0, (kl_policy_logps.detach().double() - kl_ref_logps.detach().double()).mean().item())
    d = desirable.bool()
    sign = torch.where(d, 1.0, -1.0).to(device=policy_logps.device, dtype=torch.float64)
    weight = torch.where(d, float(desirable_weight), float(undesirable_weight)).to(device=policy_logps.device,
                                                                                  dtype=torch.float64)
    loss = _KTO.apply(policy_logps, ref_logps.detach(), z0_value, sign, weight, beta)
    rewards = (beta * (policy_logps.detach() - ref_logps.detach()))
    return loss, rewards, policy_logps.new_tensor(z0_value)
