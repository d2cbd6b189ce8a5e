"""The seeds' toy preference problem: a prompt of 6 tokens, answers of 4, a vocabulary of 32.

The policy is a free table of logits per position, shared by the chosen and the rejected
sequence (they share the prompt), so raising the chosen token's probability at a position
lowers the rejected one's. The reference model is the policy's starting point. Small
enough to train for a few hundred steps in tens of milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

PROMPT = [5, 8, 9, 10, 5, 3]
CHOSEN = [16, 29, 18, 17]
REJECTED = [26, 14, 31, 0]
VOCAB = 32

# loss_of(pc, pr, rc, rr, chosen_mask, rejected_mask) -> 0-dim loss
PairLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Trajectory:
    logp_chosen: list[float]  # mean per-token log π(y_w) over the response, per step
    logp_rejected: list[float]  # mean per-token log π(y_l) over the response, per step
    h_mean: list[float]  # per-token mean log-ratio difference (IPO's h), per step

    def to_dict(self) -> dict[str, list[float]]:
        return {"logp_chosen": self.logp_chosen, "logp_rejected": self.logp_rejected, "h_mean": self.h_mean}


def train_pair(loss_of: PairLoss, steps: int, lr: float, seed: int, dtype: torch.dtype = torch.float32) -> Trajectory:
    """Plain gradient descent on the table of logits with `loss_of`; records every step."""
    g = torch.Generator().manual_seed(seed)
    table = (0.1 * torch.randn(len(PROMPT) + len(CHOSEN), VOCAB, generator=g, dtype=torch.float64)).to(dtype)
    table.requires_grad_(True)
    ids = torch.tensor([PROMPT + CHOSEN, PROMPT + REJECTED])  # [2, T]
    mask = torch.tensor([[0.0] * len(PROMPT) + [1.0] * len(CHOSEN)], dtype=dtype)  # [1, T]
    n = float(len(CHOSEN))

    def logps(t: torch.Tensor) -> torch.Tensor:  # [2, T] per-token log-probs of both sequences
        return torch.log_softmax(t, dim=-1).expand(2, -1, -1).gather(2, ids.unsqueeze(2)).squeeze(2)

    with torch.no_grad():
        ref = logps(table)
    seen = []  # each step's log-probs, before its update: reduced to the curves once, at the end
    for _ in range(steps):
        lp = logps(table)
        loss = loss_of(lp[:1], lp[1:], ref[:1].clone(), ref[1:].clone(), mask.clone(), mask.clone())
        (grad,) = torch.autograd.grad(loss, table)
        with torch.no_grad():
            seen.append(lp.detach())
            table -= lr * grad
    if not seen:
        return Trajectory([], [], [])
    r = torch.stack(seen)  # [steps, 2, T]
    return Trajectory(((r[:, 0] * mask[0]).sum(-1) / n).tolist(), ((r[:, 1] * mask[0]).sum(-1) / n).tolist(),
                      ((((r[:, 0] - ref[0]) - (r[:, 1] - ref[1])) * mask[0]).sum(-1) / n).tolist())


class BetaSweep:
    """A behaviour run over several β: the toy policy trained from the same start with
    `fn(pc, pr, rc, rr, chosen_mask, rejected_mask, beta=β)[0]` as the loss, for each β."""

    betas: tuple[float, ...] = ()
    steps: int = 0
    lr: float = 0.0

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        runs = {}
        for beta in self.betas:
            traj = train_pair(lambda pc, pr, rc, rr, mc, mr: fn(pc, pr, rc, rr, mc, mr, beta=beta)[0],
                              self.steps, self.lr, seed)
            runs[str(beta)] = traj.to_dict()
        return {"runs": runs}


def finite(xs: list[float]) -> bool:
    return all(math.isfinite(x) for x in xs)
