# check: values
# WRONG: TRL CPO/SimPO's conservative loss with label_smoothing hard-coded to 0.01: -(1-ε)·log σ(z) - ε·log σ(-z).
import torch
import torch.nn.functional as F

LABEL_SMOOTHING = 0.01


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    z = beta * (c - r) - gamma
    losses = -F.logsigmoid(z) * (1 - LABEL_SMOOTHING) - F.logsigmoid(-z) * LABEL_SMOOTHING
    return losses.mean(), (beta * c).detach(), (beta * r).detach()
