# RIGHT: the four results as one stacked [4] tensor (masked sums in one einsum against a [4, B, T] stack), returned as 0-dim views into it, clip_fraction a detached view
import torch
from torch import Tensor


def ppo_loss(logps: Tensor, old_logps: Tensor, advantages: Tensor, values: Tensor, old_values: Tensor,
             returns: Tensor, mask: Tensor, clip_eps: float = 0.2, value_clip_eps: float = 0.2,
             vf_coef: float = 0.1):
    a = advantages.detach()
    ov, ret = old_values.detach(), returns.detach()
    m = mask.to(logps.dtype)
    ratio = (logps - old_logps.detach()).exp()
    u, c = -a * ratio, -a * ratio.clamp(1 - clip_eps, 1 + clip_eps)
    pol = torch.maximum(u, c)
    e_u = (values - ret) ** 2
    e_c = (ov + (values - ov).clamp(-value_clip_eps, value_clip_eps) - ret) ** 2
    val = 0.5 * torch.maximum(e_u, e_c)
    flags = (c > u).to(logps.dtype)
    terms = torch.stack([pol + vf_coef * val, pol, val, flags])  # [4, B, T]
    sums = torch.einsum("kbt,bt->k", terms, m) / m.sum().clamp(min=1)  # [4]
    return sums[0], sums[1], sums[2], sums.detach()[3]
