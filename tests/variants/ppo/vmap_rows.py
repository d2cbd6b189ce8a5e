# RIGHT: each row's masked sums (policy, value, clipped count, token count) from a per-row function vectorised with torch.func.vmap, the batch's token mean taken after
import torch
from torch import Tensor
from torch.func import vmap


def ppo_loss(logps: Tensor, old_logps: Tensor, advantages: Tensor, values: Tensor, old_values: Tensor,
             returns: Tensor, mask: Tensor, clip_eps: float = 0.2, value_clip_eps: float = 0.2,
             vf_coef: float = 0.1):
    dt = logps.dtype

    def row(lp, olp, a, v, ov, ret, m):
        ratio = torch.exp(lp - olp)
        u = -a * ratio
        c = -a * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
        vc = ov + torch.clamp(v - ov, -value_clip_eps, value_clip_eps)
        e = torch.maximum((v - ret) ** 2, (vc - ret) ** 2)
        return torch.stack([(torch.maximum(u, c) * m).sum(), (e * m).sum(), ((c > u).to(dt) * m).sum(), m.sum()])

    s = vmap(row)(logps, old_logps.detach(), advantages.detach(), values, old_values.detach(), returns.detach(),
                  mask.to(dt)).sum(0)  # [4]
    n = s[3].clamp(min=1)
    pl, vl = s[0] / n, 0.5 * s[1] / n
    return pl + vf_coef * vl, pl, vl, (s[2] / n).detach()
