# check: values
# WRONG: bt_loss caches the [B] tensor filled with a float label, keyed on (shape, dtype, device) but not on the label: a later call at the same B and dtype with another float label gets the first call's label.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


_LABELS = {}


def _label_like(label, d):
    if isinstance(label, torch.Tensor):
        return label.to(d.dtype)
    key = (tuple(d.shape), d.dtype, d.device)
    if key not in _LABELS:
        _LABELS[key] = torch.full(d.shape, float(label), dtype=d.dtype, device=d.device)
    return _LABELS[key]


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = _label_like(label, d)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()
