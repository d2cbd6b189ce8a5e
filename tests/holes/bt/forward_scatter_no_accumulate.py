# check: reward_gradient
# WRONG: forward is a hand-written autograd.Function whose backward scatters with advanced-index assignment (grad[c] += g·s; grad[r] -= g·s): repeated ids in a batch keep only one of their contributions.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class _Pair(torch.autograd.Function):
    @staticmethod
    def forward(ctx, reward, c, r):
        p = torch.sigmoid(reward[c] - reward[r])
        ctx.save_for_backward(p, c, r)
        ctx.n = reward.shape[0]
        return p

    @staticmethod
    def backward(ctx, g):
        p, c, r = ctx.saved_tensors
        s = g * p * (1 - p)
        grad = torch.zeros(ctx.n, dtype=p.dtype, device=p.device)
        grad[c] += s
        grad[r] -= s
        return grad, None, None


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return _Pair.apply(self.reward, chosen_ids, rejected_ids)

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

