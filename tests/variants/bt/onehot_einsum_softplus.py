# A correct Bradley-Terry: forward as a one-hot difference matrix times the reward vector (einsum), then σ; bt_loss as softplus(-d) + (1 - label)·d, the BCE rearranged.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.n = n_items
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        x = (F.one_hot(chosen_ids, self.n) - F.one_hot(rejected_ids, self.n)).to(self.reward.dtype)
        return torch.sigmoid(torch.einsum("bn,n->b", x, self.reward))


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return (F.softplus(-d) + (1 - y) * d).mean()
