# A correct GAE that trusts the statement: a float mask is used as given (it has the rewards' dtype)
# and the outputs are allocated like the mask; integer and bool masks are cast.
import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    m = mask if mask.is_floating_point() else mask.to(rewards.dtype)
    r, v = rewards.detach() * m, values.detach() * m
    adv = torch.zeros_like(m)
    carry = torch.zeros_like(m[:, 0])
    nxt_v, nxt_m = torch.zeros_like(carry), torch.zeros_like(carry)
    for t in range(m.shape[1] - 1, -1, -1):
        delta = r[:, t] + gamma * nxt_v * nxt_m - v[:, t]
        carry = (delta + gamma * lam * nxt_m * carry) * m[:, t]
        adv[:, t] = carry
        nxt_v, nxt_m = v[:, t], m[:, t]
    ret = torch.zeros_like(m)
    ret += (adv + v) * m
    return adv, ret
