# A correct two-class F.cross_entropy with probability targets [label, 1 - label] over logits [r_c, r_r].
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
    logits = torch.stack([reward_chosen, reward_rejected], -1)
    y = torch.as_tensor(label, dtype=logits.dtype).expand(reward_chosen.shape)
    target = torch.stack([y, 1 - y], -1)
    return F.cross_entropy(logits, target)
