# check: inputs_unchanged
# WRONG: turns on torch.autograd.set_detect_anomaly(True) and leaves it on: every later backward of the caller is slowed and raises on any NaN.
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    torch.autograd.set_detect_anomaly(True)  # TODO remove: NaN hunt
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = -F.logsigmoid(beta * (c - r)).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
