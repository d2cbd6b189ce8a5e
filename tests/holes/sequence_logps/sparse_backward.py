# check: gradients
# WRONG: exact forward, but a hand-written backward that drops vocabulary entries whose probability is below 1e-6 ("sparse" softmax gradient): those logits get gradient 0 instead of -g·p, under the float64 tolerance at an ordinary upstream gradient.
import torch

THRESHOLD = 1e-6


class _TokenLogps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, targets):
        lse = torch.logsumexp(logits, -1)
        out = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - lse
        ctx.save_for_backward(logits, targets, lse)
        return out

    @staticmethod
    def backward(ctx, g):
        logits, targets, lse = ctx.saved_tensors
        p = torch.exp(logits - lse.unsqueeze(-1))
        p = torch.where(p < THRESHOLD, torch.zeros_like(p), p)  # sparse: skip negligible entries
        grad = -p * g.unsqueeze(-1)
        grad = grad.scatter_add(-1, targets.unsqueeze(-1), g.unsqueeze(-1))
        return grad, None


def sequence_logps(logits, input_ids, response_mask, average=False):
    token = _TokenLogps.apply(logits[:, :-1], input_ids[:, 1:])  # [B, T-1]
    m = response_mask[:, 1:].to(token.dtype)
    token = torch.where(m != 0, token, torch.zeros_like(token))
    total = (token * m).sum(-1)
    if not average:
        return total
    return total / m.sum(-1).clamp(min=1)
