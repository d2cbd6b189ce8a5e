# check: values
# WRONG: bt_loss is the KL divergence KL(label ‖ σ(d)) (F.kl_div style: cross-entropy minus the label's entropy), not the cross-entropy: equal for hard labels, lower by H(label) for soft ones (same gradient).
import functools

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
    ce = -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d))
    ent = -(torch.xlogy(y, y) + torch.xlogy(1 - y, 1 - y))
    return (ce - ent).mean()
