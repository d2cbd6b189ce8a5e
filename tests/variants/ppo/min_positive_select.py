# A correct PPO loss written as the paper's objective, -min(r·A, clip(r)·A), over the response
# tokens picked out with a boolean mask (masked_select), in the style of baselines' ppo2.
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    keep = mask.bool()
    lp = logps[keep]
    olp, a = old_logps.detach()[keep], advantages.detach()[keep]
    v, ov, ret = values[keep], old_values.detach()[keep], returns.detach()[keep]
    n = max(lp.numel(), 1)
    ratio = torch.exp(lp - olp)
    objective = torch.min(ratio * a, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a)
    policy_loss = -objective.sum() / n
    vpredclipped = ov + torch.clamp(v - ov, -value_clip_eps, value_clip_eps)
    value_loss = 0.5 * torch.max(torch.square(v - ret), torch.square(vpredclipped - ret)).sum() / n
    clip_fraction = (torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a < ratio * a).to(logps.dtype).sum() / n
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
