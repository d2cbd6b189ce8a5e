# mistake: forward squeezed to a 0-dim tensor when B = 1
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        d = self.reward[chosen_ids] - self.reward[rejected_ids]
        return torch.sigmoid(d.unsqueeze(-1)).squeeze()  # [B, 1] -> [B], but [1, 1] -> []


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    return -(label * F.logsigmoid(d) + (1 - label) * F.logsigmoid(-d)).mean()
