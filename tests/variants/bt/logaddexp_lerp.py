# A correct Bradley-Terry: forward a two-way softmax over [r_c, r_r]; bt_loss the two-class cross-entropy
# with torch.logaddexp, the label's weighting written as torch.lerp.
import torch
import torch.nn as nn


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        both = torch.stack([self.reward[chosen_ids], self.reward[rejected_ids]], dim=-1)  # [B, 2]
        return torch.softmax(both, dim=-1)[..., 0]


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    zero = torch.zeros_like(d)
    nll_win = torch.logaddexp(zero, -d)   # -log σ(d)
    nll_lose = torch.logaddexp(zero, d)   # -log σ(-d)
    return torch.lerp(nll_lose, nll_win, y.expand_as(d)).mean()
