# RIGHT: the ratio as a quotient of probabilities, exp(logps) / exp(old_logps), in float64 inside (exp(-200) = 1.4e-87 is a normal float64), then cast back: the catalogued 'ratio from probabilities' is float32's underflow, not the formula
import torch
from torch import Tensor


def ppo_loss(logps: Tensor, old_logps: Tensor, advantages: Tensor, values: Tensor, old_values: Tensor,
             returns: Tensor, mask: Tensor, clip_eps: float = 0.2, value_clip_eps: float = 0.2,
             vf_coef: float = 0.1):
    dt = logps.dtype
    lp = logps.double()
    olp = old_logps.detach().double()
    a = advantages.detach().double()
    v = values.double()
    ov, ret = old_values.detach().double(), returns.detach().double()
    m = mask.double()
    n = m.sum().clamp(min=1.0)
    ratio = torch.exp(lp) / torch.exp(olp)
    u = -a * ratio
    c = -a * ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps)
    pl = (torch.maximum(u, c) * m).sum() / n
    vc = ov + (v - ov).clamp(-value_clip_eps, value_clip_eps)
    vl = 0.5 * (torch.maximum((v - ret) ** 2, (vc - ret) ** 2) * m).sum() / n
    cf = ((c > u).double() * m).sum() / n
    return (pl + vf_coef * vl).to(dt), pl.to(dt), vl.to(dt), cf.detach().to(dt)
