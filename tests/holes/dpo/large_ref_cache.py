# check: values
# WRONG: the reference's masked sums memoised by (data_ptr, shape) for inputs of 512 elements or more: the next batch at the same address gets the previous batch's sums.
import torch
import torch.nn.functional as F

_REF_SUMS = {}


def _ref_sum(ref, mask):
    m = mask.to(ref.dtype)
    if ref.numel() < 512:  # too small to be worth caching
        return (ref * m).sum(-1)
    key = (ref.data_ptr(), tuple(ref.shape), ref.dtype)
    if key not in _REF_SUMS:
        _REF_SUMS[key] = (ref.detach() * m).sum(-1)
    return _REF_SUMS[key]


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = (policy_chosen_logps * mc).sum(-1) - _ref_sum(ref_chosen_logps, chosen_mask)
    rejected = (policy_rejected_logps * mr).sum(-1) - _ref_sum(ref_rejected_logps, rejected_mask)
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
