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
        # TODO: implement
        raise NotImplementedError

    def forward(self, chosen_ids: Tensor, rejected_ids: Tensor) -> Tensor:
        """P(chosen ≻ rejected) for each pair.

        Args:
            chosen_ids: [B] int64 item ids.
            rejected_ids: [B] int64 item ids.

        Returns:
            [B] P(chosen ≻ rejected) = σ(r_chosen - r_rejected), differentiable w.r.t. self.reward.
        """
        # TODO: implement
        raise NotImplementedError


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
    # TODO: implement
    raise NotImplementedError
