# RIGHT: the per-token means come from torch.masked.mean(lp, -1, mask=bool mask), the loss from softplus(-z).
import warnings

import torch
import torch.nn.functional as F


def _mean(lp, mask):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.masked.mean(lp, -1, mask=mask.bool())


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    c = _mean(policy_chosen_logps, chosen_mask)
    r = _mean(policy_rejected_logps, rejected_mask)
    loss = F.softplus(-(beta * (c - r) - gamma)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
