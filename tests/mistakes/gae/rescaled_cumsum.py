# mistake: (γλ)^−t rescaled cumsum
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        next_v = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], 1)
        next_m = torch.cat([m[:, 1:], torch.zeros_like(m[:, :1])], 1)
        delta = (r + gamma * next_v * next_m - v) * m
        # A_t = (γλ)^-t Σ_{k>=t} (γλ)^k δ_k: one reversed cumsum instead of a loop.
        t = torch.arange(r.shape[1], dtype=r.dtype)
        w = (gamma * lam) ** t
        tail = torch.flip(torch.cumsum(torch.flip(delta * w, [1]), 1), [1])
        adv = tail / w * m
        return adv, (adv + v) * m
