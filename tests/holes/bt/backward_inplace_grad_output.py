# check: gradients
# WRONG: bt_loss's hand-written backward divides grad_output by B in place (grad_output.div_(B)): its own gradient is right, but in bt_loss(...) + another term autograd hands both terms one tensor, so the other term's gradient is divided by B too.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])



class _BCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, d, y):
        ctx.save_for_backward(d, y)
        return (-(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        d, y = ctx.saved_tensors
        g = grad_output.div_(d.numel())
        return g * (torch.sigmoid(d) - y), None


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device).expand_as(d)
    return _BCE.apply(d, y)
