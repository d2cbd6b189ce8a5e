# check: output_types
# WRONG: bool masks become weights with mask.double(): float32 log-probs with a bool mask give a float64 loss and rewards.
import torch
import torch.nn.functional as F


def _weights(mask):
    # bool masks cannot be multiplied by weights in every torch version: exact 0/1 doubles
    return mask.double() if mask.dtype == torch.bool else mask


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc, mr = _weights(chosen_mask), _weights(rejected_mask)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = -F.logsigmoid(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
