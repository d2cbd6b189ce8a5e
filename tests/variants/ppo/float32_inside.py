# A correct PPO loss computed in float32 whatever the inputs' dtype, cast back at the end.
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    dtype = logps.dtype
    lp, v = logps.float(), values.float()
    olp, a = old_logps.detach().float(), advantages.detach().float()
    ov, ret = old_values.detach().float(), returns.detach().float()
    m = mask.float()
    n = m.sum().clamp(min=1)
    ratio = torch.exp(lp - olp)
    pg = torch.maximum(-a * ratio, -a * torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps))
    policy_loss = (pg * m).sum() / n
    v_clip = ov + torch.clamp(v - ov, -value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((v - ret) ** 2, (v_clip - ret) ** 2) * m).sum() / n
    clip_fraction = ((-a * torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) > -a * ratio).float() * m).sum() / n
    loss = policy_loss + vf_coef * value_loss
    return loss.to(dtype), policy_loss.to(dtype), value_loss.to(dtype), clip_fraction.detach().to(dtype)
