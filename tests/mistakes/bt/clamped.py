# mistake: clamped probabilities in the loss
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.ones(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    # As in the notes: clamp the probability, then binary cross-entropy.
    epsilon = 1e-7
    pred = torch.clamp(torch.sigmoid(reward_chosen - reward_rejected), epsilon, 1 - epsilon)
    return -(label * torch.log(pred) + (1 - label) * torch.log(1 - pred)).mean()
