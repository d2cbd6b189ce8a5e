# RIGHT: the reference computation plus a warnings.warn (once per call) when a response is empty, and count via torch.count_nonzero.
import warnings

import torch


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    nc, nr = torch.count_nonzero(chosen_mask, -1), torch.count_nonzero(rejected_mask, -1)
    if bool((nc == 0).any() | (nr == 0).any()):
        warnings.warn("ipo_loss: a response was truncated away (empty mask); its mean log-ratio is 0")
        print("warning: empty response in batch")
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(dt)).sum(-1) / nc.clamp(min=1).to(dt)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(dt)).sum(-1) / nr.clamp(min=1).to(dt)
    loss = ((c - r - 1 / (2 * beta)) ** 2).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
