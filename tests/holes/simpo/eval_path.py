# check: stability
# WRONG: under torch.no_grad the loss is -log(sigmoid(z)), inf once z < -104 (float32); only the training path uses logsigmoid.
import torch
import torch.nn.functional as F


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    z = beta * (c - r) - gamma
    per_pair = -F.logsigmoid(z) if torch.is_grad_enabled() else -torch.log(torch.sigmoid(z))
    return per_pair.mean(), (beta * c).detach(), (beta * r).detach()
