# A correct PPO loss: padding zeroed with in-place masked_fill_ on the function's own
# intermediates (never on its inputs), the clip as torch.where on the ratio's bounds and the
# advantage's sign.
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    pad = ~mask.bool()
    A = advantages.detach().clone()
    A.masked_fill_(pad, 0.0)
    ratio = (logps - old_logps.detach()).exp()
    clip_hi = (ratio > 1 + clip_eps) & (A > 0)
    clip_lo = (ratio < 1 - clip_eps) & (A < 0)
    active = clip_hi | clip_lo
    bound = torch.where(clip_hi, torch.full_like(ratio, 1 + clip_eps), torch.full_like(ratio, 1 - clip_eps))
    per_tok = torch.where(active, -A * bound, -A * ratio)
    per_tok = per_tok.masked_fill(pad, 0.0)
    n = (~pad).sum().clamp(min=1).to(logps.dtype)
    policy_loss = per_tok.sum() / n
    ov, R = old_values.detach(), returns.detach()
    vc = torch.clamp(values, ov - value_clip_eps, ov + value_clip_eps)
    err = torch.stack([(values - R) ** 2, (vc - R) ** 2]).amax(0)
    err = err.masked_fill(pad, 0.0)
    value_loss = err.sum() / n * 0.5
    cf = active.clone()
    cf.masked_fill_(pad, False)
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, (cf.sum() / n).to(logps.dtype)
