# check: reward_parameter
# WRONG: BTModel has a second learnable nn.Parameter, a temperature beta, and forward returns σ(beta·(r_c - r_r)): exact until a loss built on forward trains beta, then not σ(r_c - r_r).
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))
        self.beta = nn.Parameter(torch.ones(()))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.beta * (self.reward[chosen_ids] - self.reward[rejected_ids]))


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

