# check: values
# WRONG: λ = 1 shortcut 'A = discounted reward-to-go - V' with the reward-to-go as a γ^-t rescaled cumsum: 0/0 = NaN at γ = 0, and wherever γ^t underflows
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    if lam == 1.0:
        w = gamma ** torch.arange(t, dtype=r.dtype, device=r.device)  # γ^t
        rtg = torch.flip(torch.cumsum(torch.flip(r * w, [1]), 1), [1]) / w  # Σ_k γ^(k-t) r_k
        adv = (rtg - v) * m
        return adv, (adv + v) * m
    adv = torch.zeros_like(r)
    last = r.new_zeros(b)
    nv = nm = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        last = (delta + gamma * lam * nm * last) * m[:, i]
        adv[:, i] = last
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m
