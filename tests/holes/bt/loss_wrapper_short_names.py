# check: values
# status: error
# WRONG: bt_loss is wrapped by a functools.wraps validation decorator whose wrapper names its parameters (rc, rr, label): bt_loss(reward_chosen=..., reward_rejected=...) raises TypeError, while inspect.signature shows the contract's names.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def _check(fn):
    @functools.wraps(fn)
    def wrapper(rc, rr, label=1.0):
        assert rc.shape == rr.shape, "reward shapes differ"
        return fn(rc, rr, label)
    return wrapper


@_check
def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
