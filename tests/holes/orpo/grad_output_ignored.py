# check: gradients
# WRONG: a hand-written backward of the whole loss that never multiplies in grad_output (wrong whenever the caller scales the loss).
import torch
import torch.nn.functional as F


def _log_odds(m):
    return m - torch.log(-torch.expm1(m))


class _ORPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pc, pr, mc, mr, lam):
        mc = mc.to(pc.dtype)
        mr = mr.to(pr.dtype)
        nc, nr = mc.sum(-1), mr.sum(-1)
        avg_c = (pc * mc).sum(-1) / nc
        avg_r = (pr * mr).sum(-1) / nr
        x = _log_odds(avg_c) - _log_odds(avg_r)
        nll = -(pc * mc).sum() / mc.sum()
        orl = -F.logsigmoid(x).mean()
        ctx.save_for_backward(mc, mr, nc, nr, avg_c, avg_r, x)
        ctx.lam = lam
        ctx.ntok = mc.sum()
        return nll + lam * orl, nll.detach(), orl.detach()

    @staticmethod
    def backward(ctx, g_loss, g_nll, g_or):
        mc, mr, nc, nr, avg_c, avg_r, x = ctx.saved_tensors
        B = x.shape[0]
        dx = -torch.sigmoid(-x) / B * ctx.lam  # d(lam * or_loss)/dx
        d_avg_c = dx / -torch.expm1(avg_c)
        d_avg_r = -dx / -torch.expm1(avg_r)
        gpc = -mc / ctx.ntok + (d_avg_c / nc)[:, None] * mc
        gpr = (d_avg_r / nr)[:, None] * mr
        # BUG: g_loss (the upstream gradient) is never multiplied in
        return gpc, gpr, None, None, None


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    return _ORPO.apply(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam)
