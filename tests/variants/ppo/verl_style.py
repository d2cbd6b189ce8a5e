# RIGHT: verl's compute_policy_loss / compute_value_loss layout: log-ratio clamped to ±20 before exp (the statement's range end), masked_mean as sum / (count + 1e-8), clip via torch.clamp on the predicted values (clip_by_value), torch.gt for pg_clipfrac
import torch


def _masked_mean(x, mask):
    return (x * mask).sum() / (mask.sum() + 1e-8)


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    response_mask = mask.to(logps.dtype)
    negative_approx_kl = torch.clamp(logps - old_logps.detach(), min=-20.0, max=20.0)
    ratio = torch.exp(negative_approx_kl)
    adv = advantages.detach()
    pg_losses1 = -adv * ratio
    pg_losses2 = -adv * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    clip_pg_losses1 = torch.maximum(pg_losses1, pg_losses2)
    pg_clipfrac = _masked_mean(torch.gt(pg_losses2, pg_losses1).to(logps.dtype), response_mask).detach()
    pg_loss = _masked_mean(clip_pg_losses1, response_mask)

    ov, ret = old_values.detach(), returns.detach()
    vpredclipped = torch.clamp(values, ov - value_clip_eps, ov + value_clip_eps)
    vf_losses1 = (values - ret) ** 2
    vf_losses2 = (vpredclipped - ret) ** 2
    vf_loss = 0.5 * _masked_mean(torch.max(vf_losses1, vf_losses2), response_mask)
    return pg_loss + vf_coef * vf_loss, pg_loss, vf_loss, pg_clipfrac
