# check: values
# WRONG: the loss is the mean of the means of micro-batches of 8 pairs: not the batch mean when B > 8 and 8 does not divide B.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    losses = -F.logsigmoid(beta * (c - r) - gamma)
    loss = torch.stack([chunk.mean() for chunk in torch.split(losses, 8)]).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
