# check: values
# WRONG: γλ and γ held as float16 tensors: 0.95 becomes 0.9502, the carry off by 2e-4 relative per token, compounding over long rows
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    gl = torch.tensor(gamma * lam, dtype=torch.float16).to(r.dtype)
    g = torch.tensor(gamma, dtype=torch.float16).to(r.dtype)
    b, t = r.shape
    adv = torch.zeros_like(r)
    nv = nm = na = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + g * nv * nm - v[:, i]
        na = (delta + gl * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m
