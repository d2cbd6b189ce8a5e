# check: stability
# WRONG: when no row is padded, a (γλ)^-t rescaled reversed cumsum: (γλ)^t underflows on long full rows and the rescaling divides 0 by 0
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    if bool(mask.all()):
        nv = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], 1)
        delta = r + gamma * nv - v
        w = (gamma * lam) ** torch.arange(t, dtype=r.dtype, device=r.device)
        tail = (delta * w).flip(1).cumsum(1).flip(1)
        adv = tail / w
        return adv, adv + v
    adv = torch.zeros_like(r)
    nv = nm = na = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m
