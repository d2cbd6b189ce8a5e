# check: forward_values
# WRONG: forward casts the rewards to float32 (a habit from mixed-precision code) and returns that: a model converted with .double() returns float32 probabilities, not its parameter's dtype.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        r = self.reward.float()
        return torch.sigmoid(r[chosen_ids] - r[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
