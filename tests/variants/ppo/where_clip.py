# A correct PPO loss: torch.where for both clips, a masked_mean helper, bool arithmetic for the fraction.
import torch


def masked_mean(x, mask):
    mask = mask.to(x.dtype)
    return (x * mask).sum() / torch.clamp(mask.sum(), min=1.0)


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    with torch.no_grad():
        old_logps, advantages, old_values, returns = old_logps.clone(), advantages.clone(), \
            old_values.clone(), returns.clone()
    ratio = (logps - old_logps).exp()
    hi, lo = 1.0 + clip_eps, 1.0 - clip_eps
    clipped_ratio = torch.where(ratio > hi, torch.full_like(ratio, hi), torch.where(ratio < lo, torch.full_like(ratio, lo), ratio))
    surrogate = advantages * ratio
    surrogate_clipped = advantages * clipped_ratio
    policy_loss = masked_mean(-torch.where(surrogate_clipped < surrogate, surrogate_clipped, surrogate), mask)
    step = values - old_values
    step_clipped = torch.where(step > value_clip_eps, torch.full_like(step, value_clip_eps),
                               torch.where(step < -value_clip_eps, torch.full_like(step, -value_clip_eps), step))
    err = (values - returns).pow(2)
    err_clipped = (old_values + step_clipped - returns).pow(2)
    value_loss = 0.5 * masked_mean(torch.where(err_clipped > err, err_clipped, err), mask)
    clip_fraction = masked_mean((surrogate_clipped < surrogate).to(logps.dtype), mask)
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
