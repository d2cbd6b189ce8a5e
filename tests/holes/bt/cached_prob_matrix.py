# check: forward_values
# WRONG: forward builds the n×n table σ(r_i - r_j) on its first call and serves every later call from it: after an optimiser step changes the rewards, forward returns the old probabilities.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))
        self._table = None

    def forward(self, chosen_ids, rejected_ids):
        if self._table is None:
            r = self.reward
            self._table = torch.sigmoid(r[:, None] - r[None, :])  # [n, n]
        return self._table[chosen_ids, rejected_ids]


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
