# check: values
# named: per-sequence mean then batch mean; and vf_coef missing (loss = policy_loss + value_loss)
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    m = mask.to(logps.dtype)
    per_row = lambda x: ((x * m).sum(-1) / m.sum(-1).clamp(min=1)).mean()
    old, A, V_old, R = (t.detach() for t in (old_logps, advantages, old_values, returns))
    ratio = torch.exp(logps - old)
    u, c = -A * ratio, -A * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = per_row(torch.maximum(u, c))
    v_clip = V_old + (values - V_old).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * per_row(torch.maximum((values - R) ** 2, (v_clip - R) ** 2))
    clip_fraction = per_row((c > u).to(m.dtype))
    return policy_loss + value_loss, policy_loss, value_loss, clip_fraction.detach()
