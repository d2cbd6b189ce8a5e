# mistake: max(d, 0) + log1p(exp(-|d|)) by hand: wrong gradient at a tie
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    # The stable binary cross-entropy with logits, written out: max(d, 0) - d·y + log(1 + e^-|d|).
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return (torch.clamp(d, min=0) - d * y + torch.log1p(torch.exp(-torch.abs(d)))).mean()
