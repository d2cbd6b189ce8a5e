# check: forward_values
# WRONG: forward computes σ of the gap in float64 "for accuracy" and returns it so: a float32 model's P(chosen ≻ rejected) comes out float64, and every loss or metric built on it is promoted (forward returns the reward parameter's dtype).
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid((self.reward[chosen_ids] - self.reward[rejected_ids]).double())


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
