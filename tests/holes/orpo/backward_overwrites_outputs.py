# check: gradients
# WRONG: a hand-written autograd.Function returns (loss, nll_loss, or_loss) and its backward uses the returned or_loss tensor as a scratch 0-dim buffer (torch.mul(g, lam, out=ctx.buf)): after the caller's backward, or_loss holds 2**16·λ (whatever g·λ is), not eq. 7.
import torch
import torch.nn.functional as F


def _parts(pc, pr, mc, mr):
    nll = -(pc * mc).sum() / mc.sum()
    c = (pc * mc).sum(-1) / mc.sum(-1)
    r = (pr * mr).sum(-1) / mr.sum(-1)
    x = (c - torch.log(-torch.expm1(c))) - (r - torch.log(-torch.expm1(r)))
    return nll, c, r, x


class _ORPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pc, pr, mc, mr, lam):
        nll, c, r, x = _parts(pc, pr, mc, mr)
        or_loss = -F.logsigmoid(x).mean()
        loss = nll + lam * or_loss
        ctx.save_for_backward(pc, pr, mc, mr)
        ctx.lam, ctx.buf = lam, or_loss
        ctx.mark_non_differentiable(nll, or_loss)
        return loss, nll, or_loss

    @staticmethod
    def backward(ctx, g, _gn, _go):
        pc, pr, mc, mr = ctx.saved_tensors
        _, c, r, x = _parts(pc, pr, mc, mr)
        gl = torch.mul(g, ctx.lam, out=ctx.buf)  # reuse a 0-dim buffer
        b = x.shape[0]
        gx = -gl * torch.sigmoid(-x) / b  # d/dx of λ·mean(-log σ(x))
        gc = gx / -torch.expm1(c)
        gr = -gx / -torch.expm1(r)
        d_pc = -g * mc / mc.sum() + (gc / mc.sum(-1))[:, None] * mc
        d_pr = (gr / mr.sum(-1))[:, None] * mr
        return d_pc, d_pr, None, None, None


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    return _ORPO.apply(policy_chosen_logps, policy_rejected_logps, mc, mr, float(lam))
