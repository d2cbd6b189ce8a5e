# A correct GAE through the λ-return: G_t = r_t + γ((1-λ)V_{t+1} + λ·G_{t+1}) backwards, then A = G - V.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(dtype=rewards.dtype)
        r, v = rewards.masked_fill(m == 0, 0), values.masked_fill(m == 0, 0)
        b, t = r.shape
        g_next = torch.zeros(b, dtype=r.dtype, device=r.device)
        v_next = torch.zeros_like(g_next)
        out = [None] * t
        for i in range(t - 1, -1, -1):
            g = r[:, i] + gamma * ((1 - lam) * v_next + lam * g_next)
            g = g * m[:, i]
            out[i] = g
            g_next, v_next = g, v[:, i]
        ret = torch.stack(out, 1) if t else torch.zeros_like(r)
        return (ret - v) * m, ret
