# check: gradients
# WRONG: a hand-written backward that reads grad_output through .view(-1, 1): it raises when grad_output arrives non-contiguous (a slice or transpose of a larger gradient downstream).
import torch


class _GatherLogSoftmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, labels):
        lse = torch.logsumexp(logits, dim=-1)
        out = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - lse
        ctx.save_for_backward(logits, labels, lse)
        return out

    @staticmethod
    def backward(ctx, grad):
        logits, labels, lse = ctx.saved_tensors
        V = logits.shape[-1]
        probs = torch.exp(logits - lse.unsqueeze(-1)).reshape(-1, V)
        g = grad.view(-1, 1)
        out = -g * probs
        out.scatter_add_(1, labels.reshape(-1, 1), g)
        return out.view(logits.shape), None


def get_probs(logits, labels):
    return _GatherLogSoftmax.apply(logits, labels)
