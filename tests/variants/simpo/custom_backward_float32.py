# A correct SimPO whose -log σ(z) runs in float32 inside, with an exact hand-written backward.
import torch
import torch.nn.functional as F


class NegLogSigmoid32(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        z32 = z.float()
        ctx.save_for_backward(z32)
        ctx.dtype = z.dtype
        return F.softplus(-z32).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z32,) = ctx.saved_tensors
        return (-grad.float() * torch.sigmoid(-z32)).to(ctx.dtype)


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    rejected = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    loss = NegLogSigmoid32.apply(beta * (chosen - rejected) - gamma).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
