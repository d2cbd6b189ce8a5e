# check: reward_gradient
# WRONG: model.eval() freezes the reward (train(False) sets requires_grad False) and model.train() never unfreezes it: after one evaluation, forward is no longer differentiable w.r.t. reward and training silently stops.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def train(self, mode=True):
        super().train(mode)
        if not mode:
            self.reward.requires_grad_(False)
        return self

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

