# RIGHT: a fused shift + gather + masked reduction as one torch.autograd.Function with a hand-written backward (softmax of the predicting positions, scatter of the weights), float64 inside.
import torch


class _SeqLogps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, input_ids, response_mask, average):
        x = logits[:, :-1].double()
        lab = input_ids[:, 1:]
        w = response_mask[:, 1:].double()
        if average:
            w = w / w.sum(-1, keepdim=True).clamp(min=1)
        lse = torch.logsumexp(x, -1)
        lp = x.gather(-1, lab.unsqueeze(-1)).squeeze(-1) - lse
        ctx.save_for_backward(logits, lab, w, lse)
        return (lp * w).sum(-1).to(logits.dtype)

    @staticmethod
    def backward(ctx, g):
        logits, lab, w, lse = ctx.saved_tensors
        x = logits[:, :-1].double()
        coef = (g.double().unsqueeze(-1) * w)  # [B, T-1]
        p = torch.exp(x - lse.unsqueeze(-1))
        grad = -p * coef.unsqueeze(-1)
        grad = grad.scatter_add(-1, lab.unsqueeze(-1), coef.unsqueeze(-1))
        grad = torch.where(coef.unsqueeze(-1) == 0, torch.zeros_like(grad), grad)
        full = torch.zeros(logits.shape, dtype=logits.dtype, device=logits.device)
        full[:, :-1] = grad.to(logits.dtype)
        return full, None, None, None


def sequence_logps(logits, input_ids, response_mask, average=False):
    return _SeqLogps.apply(logits, input_ids, response_mask, average)
