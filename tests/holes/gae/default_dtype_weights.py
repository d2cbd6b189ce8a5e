# check: output_types
# WRONG: discount weights as float ** LongTensor, typed in torch's default dtype: under a float64 default, float32 rewards give float64 outputs
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        nv = torch.nn.functional.pad(v[:, 1:], (0, 1))
        nm = torch.nn.functional.pad(m[:, 1:], (0, 1))
        delta = (r + gamma * nv * nm - v) * m  # [B, T], 0 past each row's end
        t = delta.shape[1]
        steps = torch.arange(t)[None, :] - torch.arange(t)[:, None]  # [T, T] k - t
        w = torch.where(steps >= 0, (gamma * lam) ** steps.clamp(min=0), 0.0)  # default dtype
        adv = (delta[:, None, :] * w[None]).sum(-1) * m  # [B, T]
        return adv, (adv + v) * m
