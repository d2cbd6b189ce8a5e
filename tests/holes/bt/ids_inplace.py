# check: forward_values
# WRONG: forward canonicalises each pair in place (copies min/max of the ids into chosen_ids/rejected_ids, then flips the sign): P is right, but the caller's id tensors come back scrambled.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        swap = chosen_ids > rejected_ids
        lo = torch.minimum(chosen_ids, rejected_ids)
        hi = torch.maximum(chosen_ids, rejected_ids)
        chosen_ids.copy_(lo)
        rejected_ids.copy_(hi)
        sign = torch.where(swap, -1.0, 1.0).to(self.reward.dtype)
        return torch.sigmoid(sign * (self.reward[chosen_ids] - self.reward[rejected_ids]))


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

