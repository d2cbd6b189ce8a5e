# check: values
# WRONG: clip_eps = inf also turns value clipping off, whatever value_clip_eps is (statement: ε = inf turns the policy clip off only)
import math
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1.0)
    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    if math.isinf(clip_eps):  # vanilla policy gradient with a plain value regression
        c = u
        per_v = (values - returns) ** 2
    else:
        c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
        vc = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
        per_v = torch.maximum((values - returns) ** 2, (vc - returns) ** 2)
    policy_loss = (torch.maximum(u, c) * m).sum() / n
    value_loss = 0.5 * (per_v * m).sum() / n
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
