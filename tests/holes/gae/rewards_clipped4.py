# check: values
# WRONG: rewards clipped to ±4 before GAE (TRL-style score_clip always on; eq. 16 uses the rewards as given)
import torch
@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards.clamp(-4.0, 4.0) * m, values * m
    B, T = r.shape
    adv = torch.zeros_like(r)
    acc = r.new_zeros(B); nv = r.new_zeros(B); nm = r.new_zeros(B)
    for t in reversed(range(T)):
        delta = r[:, t] + gamma * nv * nm - v[:, t]
        acc = (delta + gamma * lam * nm * acc) * m[:, t]
        adv[:, t] = acc
        nv, nm = v[:, t], m[:, t]

    return adv, (adv + v) * m
