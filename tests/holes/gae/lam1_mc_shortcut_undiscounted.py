# check: values
# WRONG: λ = 1 short-cut "Monte Carlo: A = reward-to-go - V" uses an undiscounted cumsum: right only when γ = 1 too (statement: λ=γ=1 gives reward-to-go; λ=1 with γ<1 must discount)
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    with torch.no_grad():
        m = mask.to(rewards.dtype)
        r, v = rewards.detach() * m, values.detach() * m
        B, T = r.shape
        if lam == 1.0:
            rtg = torch.flip(torch.cumsum(torch.flip(r, [1]), 1), [1])
            adv = (rtg - v) * m
            return adv, (adv + v) * m
        adv = torch.zeros_like(r)
        acc = r.new_zeros(B)
        nv = r.new_zeros(B)
        nm = r.new_zeros(B)
        for t in reversed(range(T)):
            delta = r[:, t] + gamma * nv * nm - v[:, t]
            acc = (delta + gamma * lam * nm * acc) * m[:, t]
            adv[:, t] = acc
            nv, nm = v[:, t], m[:, t]
        return adv, (adv + v) * m
