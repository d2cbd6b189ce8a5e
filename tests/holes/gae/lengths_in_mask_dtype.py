# check: values
# WRONG: response lengths as mask.sum(-1) kept in the mask's own dtype, then the mask rebuilt from them: int8/uint8 lengths past 127/255 wrap (512 -> 0)
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    b, t = rewards.shape
    lengths = mask.sum(-1).to(mask.dtype) if not mask.is_floating_point() else mask.sum(-1)
    m = (torch.arange(t, device=rewards.device) < lengths.long()[:, None]).to(rewards.dtype)
    r, v = rewards * m, values * m
    adv = torch.zeros_like(r)
    nv = nm = na = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m
