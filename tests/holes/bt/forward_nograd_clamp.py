# check: forward_values
# WRONG: under torch.no_grad() forward clamps P into [1e-6, 1 - 1e-6] ("for a safe log-loss metric"): evaluation gets ε where σ(r_c - r_r) is 0; with grad it is exact.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        p = torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])
        if not torch.is_grad_enabled():
            p = p.clamp(1e-6, 1 - 1e-6)
        return p


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

