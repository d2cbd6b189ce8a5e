# mistake: forward returns logits, not a probability
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return self.reward[chosen_ids] - self.reward[rejected_ids]


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    return F.binary_cross_entropy_with_logits(
        reward_chosen - reward_rejected,
        torch.as_tensor(label, dtype=reward_chosen.dtype, device=reward_chosen.device).expand_as(reward_chosen))
