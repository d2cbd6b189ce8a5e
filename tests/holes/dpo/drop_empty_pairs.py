# check: values
# WRONG: pairs whose two responses are both empty are dropped from the batch mean (the loss rescaled by B / B_valid, and 0 for a batch of only such pairs).
import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    losses = -F.logsigmoid(beta * (c - r))
    valid = ((mc.sum(-1) + mr.sum(-1)) > 0).to(losses.dtype)  # pairs with anything left to learn from
    loss = (losses * valid).sum() / valid.sum().clamp(min=1)
    return loss, (beta * c).detach(), (beta * r).detach()
