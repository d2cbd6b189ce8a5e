# check: gradients
# WRONG: the hand-written -log σ backward reads σ(-x) from a class attribute set by the latest forward: two losses built before one backward get the second call's σ.
import torch
import torch.nn.functional as F


class NegLogSigmoid(torch.autograd.Function):
    saved = None

    @staticmethod
    def forward(ctx, x):
        NegLogSigmoid.saved = torch.sigmoid(-x)  # kept for backward (and for logging)
        return F.softplus(-x)

    @staticmethod
    def backward(ctx, grad):
        return -grad * NegLogSigmoid.saved


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = NegLogSigmoid.apply(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
