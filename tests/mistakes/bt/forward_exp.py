# mistake: exp(r_c) / (exp(r_c) + exp(r_r)) overflows
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.ones(n_items))

    def forward(self, chosen_ids, rejected_ids):
        # The exponential form from the notes.
        chosen = torch.exp(self.reward[chosen_ids])
        rejected = torch.exp(self.reward[rejected_ids])
        return chosen / (chosen + rejected)


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    return -(label * F.logsigmoid(d) + (1 - label) * F.logsigmoid(-d)).mean()
