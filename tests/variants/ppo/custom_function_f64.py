# RIGHT: the whole loss as one torch.autograd.Function with a hand-written backward (needs_input_grad honoured, grad_output applied), policy_loss and value_loss as two further Functions sharing the same math, float64 inside whatever the input dtype
import torch


def _terms(logps, old_logps, adv, values, old_values, returns, m, n, eps, eps_v):
    ratio = torch.exp(logps - old_logps)
    u, c = -adv * ratio, -adv * ratio.clamp(1 - eps, 1 + eps)
    use_u = u >= c  # ties inside the band: the unclipped term (same value and gradient)
    step = values - old_values
    inside = step.abs() <= eps_v
    v_clip = old_values + step.clamp(-eps_v, eps_v)
    e_u, e_c = (values - returns) ** 2, (v_clip - returns) ** 2
    use_vu = e_u >= e_c
    pl = (torch.where(use_u, u, c) * m).sum() / n
    vl = 0.5 * (torch.where(use_vu, e_u, e_c) * m).sum() / n
    d_logps = torch.where(use_u, u, torch.zeros_like(u)) * m / n
    d_values = 0.5 * torch.where(use_vu, 2 * (values - returns),
                                 torch.where(inside, 2 * (v_clip - returns), torch.zeros_like(values))) * m / n
    return pl, vl, c > u, d_logps, d_values


class _PPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, values, old_logps, adv, old_values, returns, m, eps, eps_v, w_p, w_v):
        f = torch.float64
        n = m.to(f).sum().clamp(min=1.0)
        pl, vl, _, d_lp, d_v = _terms(logps.to(f), old_logps.to(f), adv.to(f), values.to(f), old_values.to(f),
                                      returns.to(f), m.to(f), n, eps, eps_v)
        ctx.save_for_backward((w_p * d_lp).to(logps.dtype), (w_v * d_v).to(values.dtype))
        return (w_p * pl + w_v * vl).to(logps.dtype)

    @staticmethod
    def backward(ctx, g):
        d_lp, d_v = ctx.saved_tensors
        return (g * d_lp if ctx.needs_input_grad[0] else None, g * d_v if ctx.needs_input_grad[1] else None,
                None, None, None, None, None, None, None, None, None)


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    consts = (old_logps.detach(), advantages.detach(), old_values.detach(), returns.detach(), mask.to(torch.float64))
    loss = _PPO.apply(logps, values, *consts, clip_eps, value_clip_eps, 1.0, vf_coef)
    policy_loss = _PPO.apply(logps, values, *consts, clip_eps, value_clip_eps, 1.0, 0.0)
    value_loss = _PPO.apply(logps, values, *consts, clip_eps, value_clip_eps, 0.0, 1.0)
    with torch.no_grad():
        f = torch.float64
        m = mask.to(f)
        n = m.sum().clamp(min=1.0)
        ratio = torch.exp(logps.to(f) - old_logps.to(f))
        a = advantages.to(f)
        clipped = -a * ratio.clamp(1 - clip_eps, 1 + clip_eps) > -a * ratio
        clip_fraction = ((clipped.to(f) * m).sum() / n).to(logps.dtype)
    return loss, policy_loss, value_loss, clip_fraction
