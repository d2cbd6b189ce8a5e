# check: values
# WRONG: the reference's masked sums memoised by id() of the tensors: a later batch that reuses a freed tensor's id gets an earlier batch's sums.
import torch
import torch.nn.functional as F

_REF_CACHE = {}


def _ref_sum(ref, mask):
    key = (id(ref), id(mask), tuple(ref.shape))
    if key not in _REF_CACHE:
        _REF_CACHE[key] = (ref.detach() * mask.to(ref.dtype)).sum(-1)
    return _REF_CACHE[key]


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) - _ref_sum(ref_chosen_logps, chosen_mask)
    r = (policy_rejected_logps * mr).sum(-1) - _ref_sum(ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
