# check: gradients
# WRONG: a hand-written autograd.Function recomputes z in backward and writes σ(-z) into the chosen-rewards tensor it returned (kept on ctx as a scratch [B] buffer, torch.sigmoid(-z, out=buf)): after the caller's backward, chosen_rewards holds σ(-z), not β·m_c.
import torch
import torch.nn.functional as F


class _SimPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pc, pr, mc, mr, beta, gamma):
        c = beta * (pc * mc).sum(-1) / mc.sum(-1)
        r = beta * (pr * mr).sum(-1) / mr.sum(-1)
        loss = -F.logsigmoid(c - r - gamma).mean()
        ctx.save_for_backward(pc, pr, mc, mr)
        ctx.beta, ctx.gamma = beta, gamma
        ctx.buf = c  # a [B] scratch buffer for backward
        ctx.mark_non_differentiable(c, r)
        return loss, c, r

    @staticmethod
    def backward(ctx, g, _gc, _gr):
        pc, pr, mc, mr = ctx.saved_tensors
        nc, nr = mc.sum(-1), mr.sum(-1)
        z = ctx.beta * ((pc * mc).sum(-1) / nc - (pr * mr).sum(-1) / nr) - ctx.gamma
        s = torch.sigmoid(-z, out=ctx.buf)
        w = -g * s * ctx.beta / s.shape[0]
        return (w / nc)[:, None] * mc, -(w / nr)[:, None] * mr, None, None, None, None


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, beta=2.0, gamma=0.5):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    return _SimPO.apply(policy_chosen_logps, policy_rejected_logps, mc, mr, float(beta), float(gamma))
