# check: gradients
# named: nan_gradient
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    safe_log = lambda p, x: torch.where(x.abs() < 30, torch.log(p), torch.minimum(x, torch.zeros_like(x)))
    return -(y * safe_log(torch.sigmoid(d), d) + (1 - y) * safe_log(torch.sigmoid(-d), -d)).mean()
