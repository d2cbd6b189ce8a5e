"""The toy PPO problem: a softmax policy over a few actions, many epochs on one fixed rollout.

The rollout policy π_old is uniform over 5 actions. One rollout of 4 rows (26 response
tokens, padded to 8) is sampled from it once; action 0 gets advantage +1 and every other
action 0. The policy being trained is a free vector of 5 logits, so every token of an action
shares one ratio π(a) / π_old(a) and everything can be computed exactly, KL included.

With A = 0 elsewhere, only action 0's tokens move the policy: their clipped term stops the
gradient once its ratio passes 1 + ε, so plain gradient descent stops one step past the
bound. Without clipping the ratio climbs towards 1/π_old(0) = 5 (π(0) -> 1). An optimiser
with momentum keeps moving after the gradient is 0, and negative advantages on the other
actions would raise π(0) through the softmax's normalisation: either moves the plateau,
which is why a report says which optimiser and which advantages it used.

Used by the ppo kata's behaviour check and by `kata experiment ppo-clip`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

ACTIONS = 5
ADVANTAGED = 0  # the action with advantage +1
LENGTHS = (8, 6, 8, 4)  # response tokens per row; T = 8, 26 tokens in all
ROLLOUT = f"one rollout of {sum(LENGTHS)} tokens from a uniform policy over {ACTIONS} actions, " \
    f"A = +1 on action {ADVANTAGED}'s tokens and 0 on the others"


def rollout(seed: int) -> dict[str, torch.Tensor]:
    """The fixed rollout: the sampled actions [B, T], their old log-probs, advantages and a mask (float64)."""
    g = torch.Generator().manual_seed((seed * 7919 + 17) % (2**63))  # any int the CLI accepts
    b, t = len(LENGTHS), max(LENGTHS)
    actions = torch.randint(0, ACTIONS, (b, t), generator=g)  # uniform π_old: a uniform draw
    actions[0, 0] = actions[2, 3] = ADVANTAGED  # every rollout holds the advantaged action
    mask = torch.zeros(b, t, dtype=torch.float64)
    for i, n in enumerate(LENGTHS):
        mask[i, :n] = 1
    old_logits = torch.zeros(ACTIONS, dtype=torch.float64)
    old_logps = torch.log_softmax(old_logits, 0)[actions]  # [B, T]
    advantages = (actions == ADVANTAGED).to(torch.float64)  # [B, T]; padding too: the mask must drop it
    return {"actions": actions, "old_logits": old_logits, "old_logps": old_logps, "advantages": advantages,
            "mask": mask}


def train(loss_fn: Callable[..., Any], clip_eps: float, epochs: int, lr: float, seed: int,
          adam_beta1: float | None = None) -> dict[str, list[float]]:
    """Train the logits on the fixed rollout with the first output of `loss_fn` (a ppo_loss): one
    full-batch step per epoch, plain gradient descent, or Adam with first-moment decay `adam_beta1`.

    Returns, per epoch and once more after the last: the advantaged action's ratio
    π(0) / π_old(0), KL(π_old ‖ π) computed exactly over the actions, and the loss's
    clip_fraction (the fourth output) as the function reported it.
    """
    r = rollout(seed)
    zeros = torch.zeros_like(r["old_logps"])  # no critic here: values = old_values = returns = 0
    old_p = torch.softmax(r["old_logits"], 0)
    logits = r["old_logits"].clone().requires_grad_(True)
    adam = None if adam_beta1 is None else torch.optim.Adam([logits], lr=lr, betas=(adam_beta1, 0.999))
    clip_fraction: list[float] = []
    seen = []  # log π over the actions at each epoch, before its step: reduced to the curves at the end

    for _ in range(epochs):
        log_p = torch.log_softmax(logits, 0)
        seen.append(log_p.detach())
        logps = log_p[r["actions"]]  # [B, T]
        result = loss_fn(logps, r["old_logps"].clone(), r["advantages"].clone(), zeros.clone(), zeros.clone(),
                         zeros.clone(), r["mask"].clone(), clip_eps=clip_eps)
        (grad,) = torch.autograd.grad(result[0], logits)
        clip_fraction.append(float(result[3]))
        if adam is None:
            with torch.no_grad():
                logits -= lr * grad
        else:
            logits.grad = grad
            adam.step()
    with torch.no_grad():
        seen.append(torch.log_softmax(logits, 0))
        log_p = torch.stack(seen)  # [epochs + 1, actions]
        old_log = old_p.log()
        ratio = [math.exp(x) for x in (log_p[:, ADVANTAGED] - old_log[ADVANTAGED]).tolist()]
        kl = (old_p * (old_log - log_p)).sum(-1).tolist()
    return {"ratio": ratio, "kl": kl, "clip_fraction": clip_fraction}
