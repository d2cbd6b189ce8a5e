# check: forward_values
# WRONG: in eval mode forward serves P from an n×n table σ(r_i - r_j) built at the first eval call and never rebuilt: evaluation after later training steps reports the first evaluation's probabilities.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))
        self._table = None

    def forward(self, chosen_ids, rejected_ids):
        if not self.training:
            if self._table is None or self._table.dtype != self.reward.dtype:
                r = self.reward.detach()
                self._table = torch.sigmoid(r[:, None] - r[None, :])
            return self._table[chosen_ids, rejected_ids]
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

