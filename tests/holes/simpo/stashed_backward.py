# check: gradients
# WRONG: the hand-written -log σ(z) backward reads σ(-z) from a class attribute set by the latest forward: a loss built before another call gets that call's σ.
import torch
import torch.nn.functional as F


class NegLogSigmoid(torch.autograd.Function):
    saved = None

    @staticmethod
    def forward(ctx, z):
        NegLogSigmoid.saved = torch.sigmoid(-z)
        return F.softplus(-z)

    @staticmethod
    def backward(ctx, grad):
        return -grad * NegLogSigmoid.saved


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = NegLogSigmoid.apply(beta * (c - r) - gamma).mean()
    return loss, (beta * c).detach(), (beta * r).detach()
