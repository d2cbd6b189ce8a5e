# check: output_types
# WRONG: a uint8 mask converted with mask.float() and used as the outputs' template: float64 rewards with a uint8 mask give float32 outputs
import torch


@torch.no_grad()
def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    if mask.dtype == torch.uint8:
        mask = mask.float()  # legacy byte mask
    m = mask if mask.is_floating_point() else mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    adv = torch.zeros_like(m)
    nv = nm = na = torch.zeros_like(r[:, 0])
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        na = (delta + gamma * lam * nm * na) * m[:, i]
        adv[:, i] = na
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m
