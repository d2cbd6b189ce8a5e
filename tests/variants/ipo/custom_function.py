# A correct IPO: the whole loss as one autograd.Function with a hand-written backward, masked means as row-normalised weights.
import torch


class _IPO(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pc, pr, rc, rr, mc, mr, beta):
        wc = mc / mc.sum(-1, keepdim=True).clamp(min=1)
        wr = mr / mr.sum(-1, keepdim=True).clamp(min=1)
        c = ((pc - rc) * wc).sum(-1)
        r = ((pr - rr) * wr).sum(-1)
        d = c - r - 0.5 / beta
        ctx.save_for_backward(d, wc, wr)
        return (d * d).mean(), c, r

    @staticmethod
    def backward(ctx, g, _gc, _gr):
        d, wc, wr = ctx.saved_tensors
        k = (2.0 * g * d / d.shape[0]).unsqueeze(-1)
        return k * wc, -k * wr, -k * wc, k * wr, None, None, None  # the reference's log-probs too


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    dt = policy_chosen_logps.dtype
    loss, c, r = _IPO.apply(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                            chosen_mask.to(dt), rejected_mask.to(dt), beta)
    return loss, (beta * c).detach(), (beta * r).detach()
