# The stable binary cross-entropy with logits written out, with torch.maximum: at a tie it
# splits the gradient in two, which makes up for |d|'s slope of 0 there, so this one is right.
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return (torch.maximum(d, torch.zeros_like(d)) - d * y + torch.log1p(torch.exp(-d.abs()))).mean()
