# RIGHT: padding removed with torch.where on mask != 0 (any mask dtype, no float cast of the mask), the recursion as a functools.reduce over reversed columns, the outputs stacked (no in-place writes)
import functools

import torch


def gae(rewards, values, mask, gamma=1.0, lam=0.95):
    keep = mask != 0
    zero = rewards.new_zeros(())
    r = torch.where(keep, rewards.detach(), zero)
    v = torch.where(keep, values.detach(), zero)
    nv = torch.nn.functional.pad(v[:, 1:], (0, 1))
    nk = torch.nn.functional.pad(keep[:, 1:], (0, 1))
    delta = r + gamma * torch.where(nk, nv, zero) - v

    def step(acc, t):
        a = torch.where(keep[:, t], delta[:, t] + gamma * lam * torch.where(nk[:, t], acc[0], zero), zero)
        return (a, *acc)

    cols = functools.reduce(step, reversed(range(r.shape[1])), (torch.zeros_like(r[:, 0]),))[:-1]
    adv = torch.stack(cols, 1) if cols else torch.zeros_like(r)
    return adv, torch.where(keep, adv + v, zero)
