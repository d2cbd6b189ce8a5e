# check: values
# named: label and 1 - label swapped (label weighting log σ(-d))
import torch.nn as nn
import torch
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    return -((1 - label) * F.logsigmoid(d) + label * F.logsigmoid(-d)).mean()
