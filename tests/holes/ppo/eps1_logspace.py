# check: values
# status: error
# WRONG: clips in log space with log1p(-ε) unless ε > 1: ε = 1 exactly raises a math domain error
import math
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1.0)
    log_hi = math.log1p(clip_eps)
    log_lo = -math.inf if clip_eps > 1 else math.log1p(-clip_eps)
    log_ratio = logps - old_logps
    ratio = torch.exp(log_ratio)
    clipped_ratio = torch.where(log_ratio > log_hi, 1 + clip_eps,
                                torch.where(log_ratio < log_lo, 1 - clip_eps, ratio))
    u = -advantages * ratio
    c = -advantages * clipped_ratio
    policy_loss = (torch.maximum(u, c) * m).sum() / n
    vc = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - returns) ** 2, (vc - returns) ** 2) * m).sum() / n
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
