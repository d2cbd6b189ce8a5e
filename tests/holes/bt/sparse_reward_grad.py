# check: reward_gradient
# WRONG: forward looks rewards up with F.embedding(..., sparse=True): the gradient reaching reward is a sparse tensor, which torch.optim.Adam/AdamW reject ("does not support sparse gradients").
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        w = self.reward.unsqueeze(1)
        rc = F.embedding(chosen_ids, w, sparse=True).squeeze(1)
        rr = F.embedding(rejected_ids, w, sparse=True).squeeze(1)
        return torch.sigmoid(rc - rr)

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

