# check: gradients
# WRONG: the hand-written -log σ backward clips its incoming gradient to [-1, 1]: wrong under loss scaling or a loss weight above 1.
import torch
import torch.nn.functional as F


class NegLogSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.softplus(-x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad = grad.clamp(-1.0, 1.0)  # no exploding gradients
        return -grad * torch.sigmoid(-x)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = NegLogSigmoid.apply(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
