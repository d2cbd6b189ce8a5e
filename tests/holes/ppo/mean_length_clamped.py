# check: values
# WRONG: token mean written as (mean over rows of the row sums) / (mean row length clamped to 1): equals sum / count only while the mean length is >= 1; a batch with fewer response tokens than rows (e.g. lengths [1, 0, 0]) is divided by B instead of the token count
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    old_logps, advantages = old_logps.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    mean_len = m.sum(-1).mean().clamp(min=1.0) if m.shape[0] else m.new_ones(())

    def tmean(x):
        rows = (x * m).sum(-1)
        return (rows.mean() if rows.numel() else rows.sum()) / mean_len

    ratio = torch.exp(logps - old_logps)
    u = -advantages * ratio
    c = -advantages * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    policy_loss = tmean(torch.maximum(u, c))
    v_clip = old_values + (values - old_values).clamp(-value_clip_eps, value_clip_eps)
    value_loss = 0.5 * tmean(torch.maximum((values - returns) ** 2, (v_clip - returns) ** 2))
    clip_fraction = tmean((c > u).to(logps.dtype)).detach()
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
