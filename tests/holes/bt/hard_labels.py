# check: values
# WRONG: soft labels rounded to hard ones (label >= 0.5) before the loss: the BCE against 0.7 becomes the BCE against 1.
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
    y = (y >= 0.5).to(d.dtype)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
