# check: forward_values
# WRONG: forward re-centres the rewards in place (reward -= reward.mean(), under no_grad) before computing σ(r_c - r_r): P is unchanged (BT is shift-invariant) but every call, even an evaluation under no_grad in eval mode, changes the model's parameters behind the optimiser's back.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        with torch.no_grad():
            self.reward.sub_(self.reward.mean())
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

