# check: values
# status: error
# WRONG: a functools.wraps wrapper forwards the four tensors and reads β and γ from the keywords only: options passed by position are dropped.
import functools

import torch
import torch.nn.functional as F


def _float_masks(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        pc, pr, mc, mr = args[:4]
        return fn(pc, pr, mc.to(pc.dtype), mr.to(pr.dtype),
                  beta=kwargs.get("beta", 2.0), gamma=kwargs.get("gamma", 0.5))
    return wrapper


@_float_masks
def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    c = (policy_chosen_logps * chosen_mask).sum(-1) / chosen_mask.sum(-1)
    r = (policy_rejected_logps * rejected_mask).sum(-1) / rejected_mask.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
