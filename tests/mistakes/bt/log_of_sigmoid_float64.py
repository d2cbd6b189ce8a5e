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
    # Computed in float64, which holds sigmoid down to gaps of about -745: fine for "hundreds".
    d = (reward_chosen - reward_rejected).double()
    y = torch.as_tensor(label, dtype=torch.float64)
    loss = -(y * torch.log(torch.sigmoid(d)) + (1 - y) * torch.log(torch.sigmoid(-d))).mean()
    return loss.to(reward_chosen.dtype)
