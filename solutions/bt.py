import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class BTModel(nn.Module):
    """A Bradley–Terry model of n_items items: one learnable strength (reward) per item.

    P(i ≻ j) = exp(r_i) / (exp(r_i) + exp(r_j)) = σ(r_i - r_j)  (Bradley & Terry 1952).
    """

    def __init__(self, n_items: int) -> None:
        """One reward per item, learnt from comparisons.

        Args:
            n_items: number of items; self.reward is an nn.Parameter of shape [n_items].
        """
        super().__init__()
        # All items start equally strong: σ(0) = 0.5 for every pair before any comparison.
        self.reward = nn.Parameter(torch.zeros(n_items))

    def forward(self, chosen_ids: Tensor, rejected_ids: Tensor) -> Tensor:
        """P(chosen ≻ rejected) for each pair.

        Args:
            chosen_ids: [B] int64 item ids.
            rejected_ids: [B] int64 item ids.

        Returns:
            [B] P(chosen ≻ rejected) = σ(r_chosen - r_rejected), differentiable w.r.t. self.reward.
        """
        # The sigmoid of the difference, not exp(r_i) / (exp(r_i) + exp(r_j)): the same number,
        # without overflowing to inf / inf once rewards pass about 88 in float32.
        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])


def bt_loss(reward_chosen: Tensor, reward_rejected: Tensor, label: float | Tensor = 1.0) -> Tensor:
    """Bradley–Terry loss: mean binary cross-entropy of P(chosen ≻ rejected) = σ(r_c - r_r) against `label`.

    Args:
        reward_chosen: [B] rewards of the chosen items.
        reward_rejected: [B] rewards of the rejected items.
        label: a float, or a [B] tensor, in [0, 1]: the probability that chosen really beats
            rejected (1: it does; 0: the pair is reversed; in between: a soft label).

    Returns:
        [] mean over the batch of -(label·log σ(d) + (1 - label)·log σ(-d)), d = r_c - r_r.
    """
    margin = reward_chosen - reward_rejected  # [B]
    label = torch.as_tensor(label, dtype=margin.dtype, device=margin.device)  # [] or [B]
    # log σ(d) and log(1 - σ(d)) = log σ(-d), both in log space: finite for gaps of hundreds,
    # with gradient σ(d) - label, which is ±1 (not 0) for a badly mis-ordered pair.
    losses = -(label * F.logsigmoid(margin) + (1 - label) * F.logsigmoid(-margin))  # [B]
    return losses.mean()
