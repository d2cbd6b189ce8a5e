# check: values
# WRONG: a functools.wraps decorator forwards only the tensors, so a β passed by position is dropped and the default 0.1 used.
import functools

import torch
import torch.nn.functional as F


def _contiguous_tensors(fn):
    """Views such as logits[:, :-1] are not contiguous: make every tensor argument contiguous."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tensors = [a.contiguous() for a in args if isinstance(a, torch.Tensor)]
        return fn(*tensors, **kwargs)
    return wrapper


@_contiguous_tensors
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
