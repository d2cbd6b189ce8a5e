# A correct Bradley-Terry: random init and F.embedding in forward; bt_loss a Python loop over pairs with one
# branch per sign of d (log σ(d) = -log1p(e^-d) or d - log1p(e^d)), as C code writes a stable softplus.
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(0.01 * torch.randn(n_items))

    def forward(self, chosen_ids, rejected_ids):
        w = self.reward.unsqueeze(-1)
        d = F.embedding(chosen_ids, w).squeeze(-1) - F.embedding(rejected_ids, w).squeeze(-1)
        return torch.sigmoid(d)


def _log_sigmoid(x):
    if float(x) >= 0:
        return -torch.log1p(torch.exp(-x))
    return x - torch.log1p(torch.exp(x))


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    total = d.new_zeros(())
    for i in range(d.shape[0]):
        y = label[i] if isinstance(label, torch.Tensor) and label.dim() > 0 else label
        total = total - (y * _log_sigmoid(d[i]) + (1 - y) * _log_sigmoid(-d[i]))
    return (total / d.shape[0]).to(d.dtype)
