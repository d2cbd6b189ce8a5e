# check: stability
# WRONG: vectorised "truncated GAE": A_t = Σ_{k<64} (γλ)^k δ_{t+k} via unfold over a 64-token window; eq. 16 sums to the row's end (T up to 512), so at γλ = 0.95 rows longer than 64 lose (0.95)^64 ≈ 4% of the tail
import torch
import torch.nn.functional as F

K = 64


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards.detach() * m, values.detach() * m
        B, T = r.shape
        nv = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], 1)
        nm = torch.cat([m[:, 1:], torch.zeros_like(m[:, :1])], 1)
        delta = (r + gamma * nv * nm - v) * m  # [B, T], 0 after each row's end
        padded = F.pad(delta, (0, K - 1))  # [B, T + K - 1]
        windows = padded.unfold(1, K, 1)  # [B, T, K]
        w = (gamma * lam) ** torch.arange(K, dtype=r.dtype)  # [K]
        adv = (windows * w).sum(-1) * m
        return adv, (adv + v) * m
