# check: values
# named: the masked sum over the batch instead of the token mean
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    m = mask.to(logps.dtype)
    old, A, V_old, R = (t.detach() for t in (old_logps, advantages, old_values, returns))
    ratio = torch.exp(logps - old)
    u, c = -A * ratio, -A * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = (torch.maximum(u, c) * m).sum()  # summed, as a per-batch total
    v_clip = V_old + (values - V_old).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((values - R) ** 2, (v_clip - R) ** 2) * m).sum()
    clip_fraction = ((c > u).to(m.dtype) * m).sum() / m.sum().clamp(min=1)
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction.detach()
