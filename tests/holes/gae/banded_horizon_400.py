# check: stability
# WRONG: a banded discount matrix of 400 tokens: A_t sums δ_t ... δ_{t+399} only, so at γ = λ = 1 a row of 512 tokens loses its tail from its first 112 advantages
import torch

HORIZON = 400


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    nv = torch.cat([v[:, 1:], v.new_zeros(b, 1)], 1)
    nm = torch.cat([m[:, 1:], m.new_zeros(b, 1)], 1)
    delta = (r + gamma * nv * nm - v) * m
    i = torch.arange(t, device=r.device)
    k = i[None, :] - i[:, None]  # [T, T]: k - t
    band = (k >= 0) & (k < HORIZON)
    w = torch.where(band, torch.tensor(gamma * lam, dtype=r.dtype, device=r.device) ** k.clamp(min=0).to(r.dtype),
                    torch.zeros((), dtype=r.dtype, device=r.device))
    adv = (delta @ w.T) * m
    return adv, (adv + v) * m
