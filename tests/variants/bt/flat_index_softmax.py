# RIGHT: reward registered with register_parameter, forward through a [n, n] difference matrix gathered by flat index (einsum-free), bt_loss via torch.distributions.Binomial(1, logits=d).log_prob(label) generalised to soft labels by hand.
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.register_parameter("reward", nn.Parameter(torch.zeros(n_items)))

    def forward(self, chosen_ids, rejected_ids):
        n = self.reward.shape[0]
        diff = self.reward[:, None] - self.reward[None, :]
        return torch.sigmoid(diff.reshape(-1)[chosen_ids * n + rejected_ids])


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = torch.stack([reward_chosen - reward_rejected, torch.zeros_like(reward_chosen)], -1)  # [B, 2] logits
    logp = torch.log_softmax(d, -1)
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    y = torch.broadcast_tensors(y, reward_chosen)[0]
    return -(y * logp[:, 0] + (1 - y) * logp[:, 1]).mean()
