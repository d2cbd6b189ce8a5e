# check: values
# status: error
# WRONG: a functools.wraps shape-checking decorator whose wrapper names the tensors (pc, pr, mc, mr): simpo_loss(policy_chosen_logps=..., ...) by name raises TypeError, while inspect.signature (following __wrapped__) shows the contract's names.
import functools

import torch
import torch.nn.functional as F


def _check_shapes(fn):
    @functools.wraps(fn)
    def wrapper(pc, pr, mc, mr, *args, **kwargs):
        assert pc.shape == mc.shape and pr.shape == mr.shape and pc.shape[0] == pr.shape[0], "shape mismatch"
        return fn(pc, pr, mc, mr, *args, **kwargs)
    return wrapper


@_check_shapes
def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
