# check: forward_values
# status: error
# WRONG: forward is wrapped by a functools.wraps id-casting decorator whose wrapper names its parameters (self, c, r): model(chosen_ids=..., rejected_ids=...) raises TypeError, while inspect.signature (following __wrapped__) shows the contract's names.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


def _long_ids(fn):
    @functools.wraps(fn)
    def wrapper(self, c, r):
        return fn(self, c.long(), r.long())
    return wrapper


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    @_long_ids
    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

