# check: reward_parameter
# WRONG: BTModel(num_items) and forward(winners, losers): the contract's names BTModel(n_items=...) and model(chosen_ids=..., rejected_ids=...) raise TypeError when passed by keyword.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, num_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(num_items))

    def forward(self, winners, losers):
        return torch.sigmoid(self.reward[winners] - self.reward[losers])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

