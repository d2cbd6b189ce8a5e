# A correct Bradley-Terry: BCE-with-logits for the loss, index_select and the seeds' ones init for the model.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.ones(n_items))

    def forward(self, chosen_ids, rejected_ids):
        logits = self.reward.index_select(0, chosen_ids) - self.reward.index_select(0, rejected_ids)
        return torch.sigmoid(logits)


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    margin = reward_chosen - reward_rejected
    if not torch.is_tensor(label):
        label = torch.full_like(margin, label)
    return F.binary_cross_entropy_with_logits(margin, label.to(margin.dtype))
