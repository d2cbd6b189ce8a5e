# A correct DPO whose -log σ runs in float32 inside, with an exact hand-written backward.
import torch
import torch.nn.functional as F


class NegLogSigmoid32(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x32 = x.float()  # computed in float32 whatever the inputs' dtype
        ctx.save_for_backward(x32)
        ctx.dtype = x.dtype
        return F.softplus(-x32).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x32,) = ctx.saved_tensors
        return (-grad.float() * torch.sigmoid(-x32)).to(ctx.dtype)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = NegLogSigmoid32.apply(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
