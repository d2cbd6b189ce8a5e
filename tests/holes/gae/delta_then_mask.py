# check: values
# WRONG: δ computed on the unmasked rewards and values and masked after: padding near the dtype's max overflows r - V to inf, inf·0 = NaN, and the carry takes it into every response token (statement: padding holds arbitrary finite numbers)
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask.to(rewards.dtype)
    r, v = rewards.detach(), values.detach()
    nxt_v = torch.cat([v[:, 1:] * m[:, 1:], torch.zeros_like(v[:, :1])], 1)
    nxt_m = torch.cat([m[:, 1:], torch.zeros_like(m[:, :1])], 1)
    delta = (r + gamma * nxt_v - v) * m  # masked after the arithmetic
    adv = torch.zeros_like(r)
    acc = torch.zeros_like(r[:, 0])
    for t in reversed(range(r.shape[1])):
        acc = delta[:, t] + gamma * lam * nxt_m[:, t] * acc
        adv[:, t] = acc
    return adv * m, (adv + v) * m
