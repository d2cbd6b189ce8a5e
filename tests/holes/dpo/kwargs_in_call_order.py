# check: values
# WRONG: a decorator passes keyword arguments on in the caller's order (fn(*args, *kwargs.values())): inputs passed by name in another order land in the wrong parameters.
import functools

import torch
import torch.nn.functional as F


def float32_inside(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        beta = kwargs.pop("beta", None)
        given = list(args) + list(kwargs.values())  # keyword inputs by call order
        if len(given) == 7:
            given, beta = given[:6], given[6]
        dtype = given[0].dtype
        cast = [t.float() if t.is_floating_point() else t for t in given]
        out = fn(*cast, **({} if beta is None else {"beta": beta}))
        return tuple(o.to(dtype) for o in out)
    return wrapper


@float32_inside
def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
