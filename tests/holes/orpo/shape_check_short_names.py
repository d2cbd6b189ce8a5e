# check: values
# status: error
# WRONG: a functools.wraps shape-checking decorator whose wrapper names the tensors (pc, pr, mc, mr): orpo_loss(policy_chosen_logps=..., ...) by name raises TypeError, while inspect.signature (following __wrapped__) shows the contract's names.
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
def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    lo = lambda m: m - torch.log(-torch.expm1(m))
    or_loss = -F.logsigmoid(lo(c) - lo(r)).mean()
    return nll + lam * or_loss, nll, or_loss
