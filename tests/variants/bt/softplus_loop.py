# A correct Bradley-Terry: softplus terms in float32 inside, a per-pair loop in forward, random init.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(0.01 * torch.randn(n_items))

    def forward(self, chosen_ids, rejected_ids):
        probs = [torch.sigmoid(self.reward[i] - self.reward[j]) for i, j in zip(chosen_ids, rejected_ids)]
        return torch.stack(probs)


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    dtype = reward_chosen.dtype
    d = (reward_chosen - reward_rejected).float()
    y = torch.as_tensor(label).float()
    # -log σ(d) = softplus(-d), -log σ(-d) = softplus(d)
    return (y * F.softplus(-d) + (1 - y) * F.softplus(d)).mean().to(dtype)
