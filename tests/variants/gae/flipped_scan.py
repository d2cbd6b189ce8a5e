# A correct GAE: flip time, scan forwards, flip back.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards * m, values * m
        next_v = torch.cat([v[:, 1:], v.new_zeros(v.shape[0], 1)], dim=1)
        next_m = torch.cat([m[:, 1:], m.new_zeros(m.shape[0], 1)], dim=1)
        delta = r + gamma * next_v * next_m - v
        d_rev, c_rev, m_rev = delta.flip(1), (gamma * lam * next_m).flip(1), m.flip(1)
        acc = torch.zeros_like(delta[:, 0])
        cols = []
        for i in range(delta.shape[1]):
            acc = (d_rev[:, i] + c_rev[:, i] * acc) * m_rev[:, i]
            cols.append(acc)
        adv = torch.stack(cols, 1).flip(1) if cols else torch.zeros_like(delta)
        return adv, (adv + v) * m
