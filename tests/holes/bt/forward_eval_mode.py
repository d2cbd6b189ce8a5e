# check: forward_values
# WRONG: after model.eval() forward uses exp(r_c) / (exp(r_c) + exp(r_r)): inf / inf = NaN once rewards pass about 88 in float32 (in train mode it is σ(r_c - r_r)).
import torch
import torch.nn as nn
import torch.nn.functional as F


class BTModel(nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids, rejected_ids):
        rc, rr = self.reward[chosen_ids], self.reward[rejected_ids]
        if self.training:
            return torch.sigmoid(rc - rr)
        return torch.exp(rc) / (torch.exp(rc) + torch.exp(rr))


def bt_loss(reward_chosen, reward_rejected, label=1.0):
    d = reward_chosen - reward_rejected
    y = torch.as_tensor(label, dtype=d.dtype, device=d.device)
    return -(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)).mean()

