# RIGHT: the per-row reward written for one row and batched with torch.vmap, -log σ(z) as F.softplus(-z)
import torch
import torch.nn.functional as F


def _row_mean(lp, m):
    m = m.to(lp.dtype)
    return (lp * m).sum() / m.sum()


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    c = torch.vmap(_row_mean)(policy_chosen_logps, chosen_mask)
    r = torch.vmap(_row_mean)(policy_rejected_logps, rejected_mask)
    loss = F.softplus(-(beta * (c - r) - gamma)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
