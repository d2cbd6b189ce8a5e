# A correct Bradley-Terry: forward re-centres the rewards (r - mean r, out of place) and takes a two-way log-softmax over [r_c, r_r]; bt_loss is -Bernoulli(logits=d, validate_args=False).log_prob(label).mean(), soft labels included.
import torch
import torch.nn as nn
from torch.distributions import Bernoulli


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(0.1 * torch.randn(n_items))

    def forward(self, chosen_ids, rejected_ids):
        r = self.reward - self.reward.mean()
        pair = torch.stack([r[chosen_ids], r[rejected_ids]], dim=-1)
        return torch.log_softmax(pair, dim=-1)[..., 0].exp()


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device).expand_as(d)
    return -Bernoulli(logits=d, validate_args=False).log_prob(y).mean()
