# check: forward_values
# WRONG: forward clamps P into [1e-6, 1 - 1e-6] "for a safe log later": a pair whose σ(r_c - r_r) is 0 gets 1e-6 (within float32's atol of 1e-5), and no gradient flows where the clamp is active.
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-6


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        p = torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])
        return p.clamp(EPS, 1 - EPS)


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
