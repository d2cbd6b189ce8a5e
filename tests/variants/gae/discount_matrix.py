# A correct GAE as one matrix product: A_t = Σ_{k>=t} (γλ)^(k-t) δ_k, with δ zero beyond each
# row's end (right padding, so the sum stops there by itself).
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    next_v = torch.nn.functional.pad(v[:, 1:], (0, 1))
    next_m = torch.nn.functional.pad(m[:, 1:], (0, 1))
    delta = (r + gamma * next_v * next_m - v) * m  # [B, T]
    t = torch.arange(r.shape[1])
    gap = t.unsqueeze(0) - t.unsqueeze(1)  # [T, T]: k - t
    base = torch.tensor(gamma * lam, dtype=r.dtype)
    discount = torch.where(gap >= 0, base ** gap.clamp(min=0).to(r.dtype), torch.zeros((), dtype=r.dtype))
    adv = delta @ discount.T  # [B, T]
    return adv * m, (adv + v) * m
