# RIGHT: one torch.autograd.Function with four outputs (loss, policy_loss, value_loss, clip_fraction), clip_fraction marked non-differentiable, a hand-written backward that sums the three upstream gradients into d/dlogps and d/dvalues and honours needs_input_grad
import torch


class _PPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, old_logps, adv, values, old_values, returns, m, eps, eps_v, vf):
        n = m.sum().clamp(min=1.0)
        ratio = torch.exp(logps - old_logps)
        u = -adv * ratio
        c = -adv * ratio.clamp(1.0 - eps, 1.0 + eps)
        use_u = u >= c  # the unclipped term wins (ties inside the band: its gradient is the same)
        pl = (torch.maximum(u, c) * m).sum() / n
        step = values - old_values
        inside = (step >= -eps_v) & (step <= eps_v)
        e_u = values - returns
        e_c = old_values + step.clamp(-eps_v, eps_v) - returns
        use_vu = e_u * e_u >= e_c * e_c
        vl = 0.5 * (torch.maximum(e_u * e_u, e_c * e_c) * m).sum() / n
        cf = ((c > u).to(logps.dtype) * m).sum() / n
        # d per_token / d logps where the unclipped term counts: -A * ratio
        g_lp = torch.where(use_u, -adv * ratio, torch.zeros_like(ratio)) * m / n
        # d ½·max(...) / d values: e_u where the unclipped error counts, e_c where it is inside the band
        g_v = torch.where(use_vu, e_u, torch.where(inside, e_c, torch.zeros_like(e_c))) * 0.5 * 2 * m / n
        ctx.save_for_backward(g_lp, g_v)
        ctx.vf = vf
        ctx.mark_non_differentiable(cf)
        return pl + vf * vl, pl, vl, cf

    @staticmethod
    def backward(ctx, g_loss, g_pl, g_vl, g_cf):
        g_lp, g_v = ctx.saved_tensors
        d_lp = (g_loss + g_pl) * g_lp if ctx.needs_input_grad[0] else None
        d_v = (g_loss * ctx.vf + g_vl) * g_v if ctx.needs_input_grad[3] else None
        return d_lp, None, None, d_v, None, None, None, None, None, None


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask, clip_eps=0.2, value_clip_eps=0.2,
             vf_coef=0.1):
    m = mask.to(logps.dtype)
    return _PPO.apply(logps, old_logps.detach(), advantages.detach(), values, old_values.detach(), returns.detach(), m,
                      clip_eps, value_clip_eps, vf_coef)
