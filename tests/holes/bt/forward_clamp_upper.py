# check: forward_values
# WRONG: forward clamps P(chosen ≻ rejected) from above only, to 1 - 1e-5 ("so that log(1 - P) stays finite"): a confidently ordered pair gets 0.99999 instead of 1 and no gradient; the clamped forward(i, j) + forward(j, i) is 1 - 1e-5.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        p = torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])
        return p.clamp(max=1 - 1e-5)


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
