# A correct PPO loss whose policy term is a custom autograd Function with a hand-written backward
# (d/d logps of max(-A·r, -A·clip(r)) is -A·r where the unclipped term counts, 0 where clipping
# is active), and whose clip_fraction is read off the ratio's side of the band.
import torch


class ClippedSurrogate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, old_logps, advantages, clip_eps):
        ratio = torch.exp(logps - old_logps)
        active = ((advantages > 0) & (ratio > 1 + clip_eps)) | ((advantages < 0) & (ratio < 1 - clip_eps))
        ctx.save_for_backward(ratio, advantages, active)
        return torch.where(active, -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps), -advantages * ratio)

    @staticmethod
    def backward(ctx, grad):
        ratio, advantages, active = ctx.saved_tensors
        return torch.where(active, torch.zeros_like(ratio), -advantages * ratio) * grad, None, None, None


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1)
    policy_loss = (ClippedSurrogate.apply(logps, old_logps, advantages, clip_eps) * m).sum() / n
    v_clip = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - returns) ** 2, (v_clip - returns) ** 2) * m).sum() / n
    ratio = torch.exp(logps.detach() - old_logps)
    active = ((advantages > 0) & (ratio > 1 + clip_eps)) | ((advantages < 0) & (ratio < 1 - clip_eps))
    clip_fraction = (active.to(m.dtype) * m).sum() / n
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
