# mistake: clip_fraction counting every ratio outside the band
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1)
    ratio = torch.exp(logps - old_logps)
    pg1 = -advantages * ratio
    pg2 = -advantages * torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.max(pg1, pg2) * m).sum() / n
    v_clip = old_values + torch.clamp(values - old_values, -value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.max((values - returns) ** 2, (v_clip - returns) ** 2) * m).sum() / n
    clip_fraction = ((((ratio - 1.0).abs() > clip_eps).to(m.dtype) * m).sum() / n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
