# RIGHT: one autograd.Function that returns the loss and both rewards, the rewards marked non-differentiable (ctx.mark_non_differentiable), a hand-written backward honouring ctx.needs_input_grad
import torch


class IPOLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pc, pr, rc, rr, mc, mr, beta):
        wc = mc.to(pc.dtype) / mc.to(pc.dtype).sum(-1, keepdim=True).clamp(min=1)
        wr = mr.to(pr.dtype) / mr.to(pr.dtype).sum(-1, keepdim=True).clamp(min=1)
        a_c = ((pc - rc) * wc).sum(-1)
        a_r = ((pr - rr) * wr).sum(-1)
        res = a_c - a_r - 1.0 / (2.0 * beta)
        ctx.save_for_backward(res, wc, wr)
        loss = (res * res).mean()
        chosen, rejected = beta * a_c, beta * a_r
        ctx.mark_non_differentiable(chosen, rejected)
        return loss, chosen, rejected

    @staticmethod
    def backward(ctx, g_loss, g_c, g_r):
        res, wc, wr = ctx.saved_tensors
        g = (g_loss * 2.0 * res / res.shape[0]).unsqueeze(-1)
        grads = [g * wc, -g * wr, -g * wc, g * wr]
        grads = [x if need else None for x, need in zip(grads, ctx.needs_input_grad[:4])]
        return (*grads, None, None, None)


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    return IPOLoss.apply(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                         chosen_mask, rejected_mask, beta)
