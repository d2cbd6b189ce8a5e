# check: values
# WRONG: the rewards are views of a buffer keyed by the input shapes: the next call of the same shapes overwrites the rewards the caller holds.
import torch
import torch.nn.functional as F

_OUT = {}


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    key = (tuple(policy_chosen_logps.shape), tuple(policy_rejected_logps.shape), c.dtype, c.device)
    if key not in _OUT:
        _OUT[key] = torch.empty(2, c.shape[0], dtype=c.dtype, device=c.device)
    buf = _OUT[key]
    with torch.no_grad():
        buf[0].copy_(beta * c)
        buf[1].copy_(beta * r)
    return loss, buf[0], buf[1]
