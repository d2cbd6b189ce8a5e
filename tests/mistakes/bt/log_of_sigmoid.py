# mistake: log(sigmoid(x)) instead of logsigmoid
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    pred = torch.sigmoid(reward_chosen - reward_rejected)
    return -(label * torch.log(pred) + (1 - label) * torch.log(1 - pred)).mean()
