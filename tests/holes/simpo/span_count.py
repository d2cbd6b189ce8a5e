# check: values
# WRONG: a response's token count is its span (last counted position - first + 1), too large when a masked turn sits inside the response.
import torch
import torch.nn.functional as F


def _span(mask):
    m = mask.to(torch.bool)
    T = m.shape[-1]
    pos = torch.arange(T, device=m.device)
    first = torch.where(m, pos, T).min(-1).values
    last = torch.where(m, pos, -1).max(-1).values
    return last - first + 1


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / _span(chosen_mask)
    r = (policy_rejected_logps * mr).sum(-1) / _span(rejected_mask)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
