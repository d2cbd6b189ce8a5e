# check: gradcheck
# WRONG: a hand-written backward builds the gradient in place in the saved softmax: a second backward through the same graph (retain_graph=True) reads the overwritten buffer.
import torch


class _LogProb(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, labels):
        lp = torch.log_softmax(logits, dim=-1)
        ctx.p = lp.exp()  # kept on ctx, not save_for_backward (no version check)
        ctx.save_for_backward(labels)
        return lp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)

    @staticmethod
    def backward(ctx, g):
        (labels,) = ctx.saved_tensors
        p = ctx.p
        p.mul_(-g.unsqueeze(-1))
        p.scatter_add_(-1, labels.unsqueeze(-1), g.unsqueeze(-1))
        return p, None


def get_probs(logits, labels):
    return _LogProb.apply(logits, labels)
