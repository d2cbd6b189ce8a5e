# check: reward_parameter
# WRONG: the rewards live in an nn.Embedding(n_items, 1) and `reward` is a property returning its weight squeezed: model.reward is a view, not the nn.Parameter named reward of shape [n_items].
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.table = nn.Embedding(n_items, 1)
        nn.init.zeros_(self.table.weight)

    @property
    def reward(self):
        return self.table.weight.squeeze(-1)

    def forward(self, chosen_ids, rejected_ids):
        r = self.table(torch.stack([chosen_ids, rejected_ids])).squeeze(-1)
        return torch.sigmoid(r[0] - r[1])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * torch.nn.functional.logsigmoid(d) + (1 - y) * torch.nn.functional.logsigmoid(-d)).mean()
