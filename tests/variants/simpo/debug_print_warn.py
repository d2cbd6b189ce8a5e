# RIGHT: prints a debug line on every call and warns (warnings.warn) when a pair is saturated (|z| > 50)
import warnings

import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    z = beta * (c - r) - gamma
    print(f"simpo: B={z.shape[0]} beta={beta} gamma={gamma} z={z.detach().tolist()}")
    if bool((z.detach().abs() > 50).any()):
        warnings.warn(f"simpo: {int((z.detach().abs() > 50).sum())} saturated pairs (|z| > 50)")
    loss = -F.logsigmoid(z).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
