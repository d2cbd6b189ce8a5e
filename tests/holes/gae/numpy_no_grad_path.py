# check: output_types
# WRONG: without a graph (always, in training) a NumPy path returns float64 outputs for float32 inputs
import numpy as np
import torch


def _torch_gae(rewards, values, mask, gamma, lam):
    rewards, values = rewards.detach(), values.detach()
    m = mask.to(rewards.dtype)
    r, v = rewards * m, values * m
    b, t = r.shape
    adv = torch.zeros_like(r)
    last = r.new_zeros(b)
    nv = nm = r.new_zeros(b)
    for i in reversed(range(t)):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        last = (delta + gamma * lam * nm * last) * m[:, i]
        adv[:, i] = last
        nv, nm = v[:, i], m[:, i]
    return adv, (adv + v) * m


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    if rewards.requires_grad or values.requires_grad:
        return _torch_gae(rewards, values, mask, gamma, lam)
    m = mask.cpu().numpy().astype(np.float64)
    r = rewards.cpu().numpy().astype(np.float64) * m
    v = values.cpu().numpy().astype(np.float64) * m
    b, t = r.shape
    adv = np.zeros((b, t))
    last = np.zeros(b)
    nv = nm = np.zeros(b)
    for i in range(t - 1, -1, -1):
        delta = r[:, i] + gamma * nv * nm - v[:, i]
        last = (delta + gamma * lam * nm * last) * m[:, i]
        adv[:, i] = last
        nv, nm = v[:, i], m[:, i]
    return torch.from_numpy(adv), torch.from_numpy((adv + v) * m)
