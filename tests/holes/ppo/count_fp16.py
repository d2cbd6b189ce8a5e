# check: values
# WRONG: the mask is cast to float16 and the token count summed in it: above 2048 tokens the count rounds (2313 -> 2312)
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m16 = mask.to(torch.float16)  # the compute dtype of the policy
    n = m16.sum().clamp(min=1.0).to(logps.dtype)
    m = m16.to(logps.dtype)
    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.maximum(u, c) * m).sum() / n
    vc = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - returns) ** 2, (vc - returns) ** 2) * m).sum() / n
    clip_fraction = ((c > u).to(logps.dtype) * m).sum().div(n).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
