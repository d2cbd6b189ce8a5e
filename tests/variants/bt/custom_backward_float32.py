# A correct BT kata whose bt_loss has a hand-written backward and computes in float32 inside.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


class BCEWithLogits32(torch.autograd.Function):
    @staticmethod
    def forward(ctx, d, y):
        d32, y32 = d.float(), y.float().expand_as(d)
        ctx.save_for_backward(d32, y32)
        ctx.dtype = d.dtype
        return (-(y32 * F.logsigmoid(d32) + (1 - y32) * F.logsigmoid(-d32))).mean().to(d.dtype)

    @staticmethod
    def backward(ctx, grad):
        d32, y32 = ctx.saved_tensors
        return (grad.float() * (torch.sigmoid(d32) - y32) / d32.numel()).to(ctx.dtype), None


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return BCEWithLogits32.apply(d, y)
