# RIGHT: rewards start at small random values (randn·0.01 from torch's global generator; the statement fixes no initial value), forward loops over the pairs in Python and stacks.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(0.01 * torch.randn(n_items))

    def forward(self, chosen_ids, rejected_ids):
        out = [torch.sigmoid(self.reward[i] - self.reward[j]) for i, j in zip(chosen_ids.tolist(), rejected_ids.tolist())]
        return torch.stack(out)

def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device).expand_as(d)
    # log σ(d) = d - softplus(d); BCE = softplus(d) - y·d, written with logaddexp
    return (torch.logaddexp(torch.zeros_like(d), d) - y * d).sum() / d.numel()
