# check: values
# WRONG: the outputs are the mean of the token means of chunks of 512 positions, not one token mean: wrong for T > 512
import torch
from torch import Tensor

CHUNK = 512


def _one(lp, olp, a, v, ov, ret, m, clip_eps, value_clip_eps, vf_coef):
    m = m.to(lp.dtype)
    count = m.sum().clamp(min=1.0)
    ratio = torch.exp(lp - olp)
    unclipped = -a * ratio
    clipped = -a * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    policy_loss = (torch.maximum(unclipped, clipped) * m).sum() / count
    v_clip = ov + torch.clamp(v - ov, -value_clip_eps, value_clip_eps)
    value_loss = 0.5 * (torch.maximum((v - ret) ** 2, (v_clip - ret) ** 2) * m).sum() / count
    clip_fraction = (((clipped > unclipped).to(lp.dtype) * m).sum() / count).detach()
    return torch.stack([policy_loss + vf_coef * value_loss, policy_loss, value_loss, clip_fraction])


def ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask, clip_eps=0.2, value_clip_eps=0.2,
             vf_coef=0.1):
    olp, a, ov, ret = old_logps.detach(), advantages.detach(), old_values.detach(), returns.detach()
    T = logps.shape[1]
    outs = [_one(logps[:, s:s + CHUNK], olp[:, s:s + CHUNK], a[:, s:s + CHUNK], values[:, s:s + CHUNK],
                 ov[:, s:s + CHUNK], ret[:, s:s + CHUNK], mask[:, s:s + CHUNK], clip_eps, value_clip_eps, vf_coef)
            for s in range(0, T, CHUNK)]
    out = torch.stack(outs).mean(0)
    return out[0], out[1], out[2], out[3].detach()
