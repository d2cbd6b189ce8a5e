# RIGHT: the per-token policy term as -A·(A > 0 ? min(r, 1 + ε) : max(r, 1 - ε)), clip_fraction from the ratio's side and the advantage's sign, the value error's max written as |e|·max(|e_u|, |e_c|) via torch.stack(...).amax, token sums with einsum and the count with count_nonzero
import torch


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,
             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    a = advantages.detach()
    keep = mask != 0  # bool, whatever the mask's dtype
    w = keep.to(logps.dtype)
    n = torch.count_nonzero(keep).to(logps.dtype).clamp(min=1.0)
    r = torch.exp(logps - old_logps.detach())
    hi = torch.clamp(r, max=1 + clip_eps)  # A > 0: no credit past 1 + ε
    lo = torch.clamp(r, min=1 - clip_eps)  # A < 0: no credit below 1 - ε
    per_token = -a * torch.where(a > 0, hi, lo)
    policy_loss = torch.einsum("bt,bt->", per_token, w) / n
    clipped = ((a > 0) & (r > 1 + clip_eps)) | ((a < 0) & (r < 1 - clip_eps))
    clip_fraction = (torch.einsum("bt,bt->", clipped.to(logps.dtype), w) / n).detach()

    ov, ret = old_values.detach(), returns.detach()
    step = values - ov
    v_clip = torch.where(step.abs() > value_clip_eps, ov + value_clip_eps * torch.sign(step), values)
    errs = torch.stack([values - ret, v_clip - ret])  # [2, B, T]
    per_v = errs.abs().amax(0) ** 2
    value_loss = 0.5 * torch.einsum("bt,bt->", per_v, w) / n
    return policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction
