# A correct ORPO whose log-odds run in float32 inside, with an exact hand-written backward.
import torch
import torch.nn.functional as F


class LogOdds32(torch.autograd.Function):
    """log(P / (1 - P)) for P = e^m, m < 0: m - log(1 - e^m); d/dm = 1 / (1 - e^m)."""

    @staticmethod
    def forward(ctx, m):
        m32 = m.float()
        ctx.save_for_backward(m32)
        ctx.dtype = m.dtype
        return (m32 - torch.log(-torch.expm1(m32))).to(m.dtype)

    @staticmethod
    def backward(ctx, grad):
        (m32,) = ctx.saved_tensors
        return (grad.float() / -torch.expm1(m32)).to(ctx.dtype)


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    nll = -(policy_chosen_logps * mc).sum() / mc.sum()
    avg_c = (policy_chosen_logps * mc).sum(-1) / mc.sum(-1)
    avg_r = (policy_rejected_logps * mr).sum(-1) / mr.sum(-1)
    or_loss = -F.logsigmoid(LogOdds32.apply(avg_c) - LogOdds32.apply(avg_r)).mean()
    return nll + lam * or_loss, nll, or_loss
