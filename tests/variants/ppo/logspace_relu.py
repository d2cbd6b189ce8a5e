# A correct PPO loss: the clip in log space (the log-ratio clamped to [log(1 - ε), log(1 + ε)],
# with ε ≥ 1 and ε = inf handled), max(a, b) written as b + relu(a - b), the value clip as
# torch.where on |step| > ε_v.
import math
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    A = advantages.detach()
    m = mask.to(logps.dtype)
    n = m.sum().clamp(min=1.0)
    log_ratio = logps - old_logps.detach()
    lo = math.log1p(-clip_eps) if clip_eps < 1 else None
    hi = math.log1p(clip_eps) if math.isfinite(clip_eps) else None
    ratio = log_ratio.exp()
    clipped_ratio = log_ratio.clamp(min=lo, max=hi).exp() if (lo is not None or hi is not None) else ratio
    u = -A * ratio
    c = -A * clipped_ratio
    per_tok = c + torch.relu(u - c)
    policy_loss = (per_tok * m).sum() / n

    ov, R = old_values.detach(), returns.detach()
    step = values - ov
    v_clip = torch.where(step.abs() > value_clip_eps, ov + value_clip_eps * torch.sign(step), values)
    e_u, e_c = (values - R) ** 2, (v_clip - R) ** 2
    per_v = e_c + torch.relu(e_u - e_c)
    value_loss = 0.5 * (per_v * m).sum() / n
    # clipped term strictly larger: c - u > 0
    cf = ((A * (ratio - clipped_ratio) > 0).to(logps.dtype) * m).sum() / n
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, cf.detach()
