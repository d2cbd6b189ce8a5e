# mistake: 1/(1 + exp(-d)) in forward: NaN gradient for large gaps
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        d = self.reward[chosen_ids] - self.reward[rejected_ids]
        return 1 / (1 + torch.exp(-d))  # the textbook logistic function


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    return -(label * F.logsigmoid(d) + (1 - label) * F.logsigmoid(-d)).mean()
