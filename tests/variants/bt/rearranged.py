# A correct softplus(-d) + (1 - label)·d (an algebraic rearrangement of the BCE); forward via softmax over [.,2].
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        s = torch.stack([self.reward[chosen_ids], self.reward[rejected_ids]], -1)
        return torch.softmax(s, -1)[..., 0]


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return (F.softplus(-d) + (1 - y) * d).mean()
