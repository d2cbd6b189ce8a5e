"""bt: the behaviour run, BTModel trained with the submission's own bt_loss."""
from __future__ import annotations

import math
from typing import Any

import torch

from grader.catalog.toy import finite
from grader.checks.details import details as behaviour_details, series
from grader.checks.schema import ERROR, ListOf, OneOf
from grader.core.tolerances import BT_COMPLEMENT_ATOL, BT_FORWARD_ATOL, BT_GAP_GROWTH
from grader.core.compare import fmt_num
from grader.core.results import CheckResult

CLASS = "BTModel"
# What BTBehaviour.run reports (inside {"data": ...}), or the error it raised.
BEHAVIOUR_REPORT = OneOf(({"error": ERROR}, {"data": OneOf(({"no_parameters": bool},
                                                            {"rewards": ListOf(ListOf(float)), "p": ListOf(float)}))}))


class BTBehaviour:
    """The seeds' experiment: BTModel(4) trained on 0≻1, 2≻3, 1≻3 with the submission's bt_loss."""

    pairs = ((0, 1), (2, 3), (1, 3))
    n_items = 4
    epochs, lr = 300, 1.0
    checkpoints = (30, 100, 300)

    def run(self, module: Any, seed: int) -> dict[str, Any]:
        model = getattr(module, CLASS)(self.n_items)
        params = list(model.parameters())
        if not params:
            return {"no_parameters": True}
        chosen = torch.tensor([c for c, _ in self.pairs])
        rejected = torch.tensor([r for _, r in self.pairs])
        rewards = []
        for _ in range(self.epochs):
            r = model.reward
            loss = module.bt_loss(r[chosen], r[rejected], 1.0)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    if g is not None:
                        p -= self.lr * g
            rewards.append([float(x) for x in model.reward.detach().reshape(-1)])
        ii, jj = (torch.tensor(ids) for ids in zip(*self.all_pairs()))
        with torch.no_grad():
            p = model(ii, jj)
        return {"rewards": rewards, "p": [float(x) for x in p.reshape(-1)]}

    def all_pairs(self) -> list[tuple[int, int]]:
        """Every ordered pair of two different items: what forward is called on after training. The
        judge reads them from here, never from the child (whose forward may have changed its ids)."""
        return [(i, j) for i in range(self.n_items) for j in range(self.n_items) if i != j]

    def judge(self, data: dict[str, Any]) -> CheckResult:
        if data.get("no_parameters"):
            return CheckResult("behaviour", "fail", f"{CLASS}({self.n_items}).parameters() is empty: gradient "
                               "descent has nothing to update (see reward_parameter).")
        rewards, pairs = data["rewards"], self.all_pairs()
        if len(rewards) != self.epochs or any(len(r) != self.n_items for r in rewards):
            return CheckResult("behaviour", "fail", f"{CLASS}({self.n_items}).reward does not hold one reward per "
                               "item through training (see reward_parameter).")
        if len(data["p"]) != len(pairs):
            return CheckResult("behaviour", "fail", f"forward on the {len(pairs)} pairs of {self.n_items} trained "
                               f"items returned {len(data['p'])} probabilities, expected one per pair "
                               "(see forward_values).")
        flat = [x for r in rewards for x in r]
        if not finite(flat) or not finite(data["p"]):
            return CheckResult("behaviour", "fail", "training produced NaN or inf rewards or probabilities.")
        r = rewards[-1]
        gaps = [x[0] - x[3] for x in rewards]
        at = [gaps[e - 1] for e in self.checkpoints]
        problems = []
        details = behaviour_details(
            [series("r0 - r3", gaps, x="epoch"),
             series("P(0 ≻ 1)", [1 / (1 + math.exp(-(x[0] - x[1]))) for x in rewards], x="epoch")],
            rewards_final=[round(x, 6) for x in r], **{f"gap_r0_r3_epoch_{e}": g for e, g in zip(self.checkpoints, at)})
        if not (r[0] > r[1] > r[3] and r[2] > r[3]):
            problems.append(f"the rewards should order r0 > r1 > r3 and r2 > r3, got r = {_fmt(r)}")
        if not all(b - a > BT_GAP_GROWTH for a, b in zip(at, at[1:])):
            problems.append("the gap r0 - r3 should keep growing on separable data, got "
                            + " / ".join(f"{g:.3f}" for g in at))
        p = dict(zip(pairs, data["p"]))
        worst_sum = max(abs(p[(i, j)] + p[(j, i)] - 1) for (i, j) in p)
        worst_val = max(abs(v - 1 / (1 + math.exp(-(r[i] - r[j])))) for (i, j), v in p.items())
        details["judged"].update(forward_complement_worst=worst_sum, forward_value_worst=worst_val)
        if worst_sum > BT_COMPLEMENT_ATOL:
            problems.append(f"forward(i, j) + forward(j, i) is off 1 by up to {fmt_num(worst_sum)}")
        if worst_val > BT_FORWARD_ATOL:
            problems.append(f"forward(i, j) is off σ(r_i - r_j) by up to {fmt_num(worst_val)} after training")
        summary = (f"trained on 0≻1, 2≻3, 1≻3 (label 1, full-batch gradient descent, lr {self.lr:g}): after "
                   f"{self.epochs} epochs r = {_fmt(r)}; the gap r0 - r3 is "
                   + " / ".join(f"{g:.2f}" for g in at) + " after " + " / ".join(map(str, self.checkpoints))
                   + f" epochs; forward(0, 3) = {p[(0, 3)]:.5f}, and forward(i, j) + forward(j, i) - 1 is at most "
                   f"{fmt_num(worst_sum)} over all {len(p) // 2} pairs.")
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=details)
        return CheckResult("behaviour", "pass", summary + " Comparisons that never contradict each other have "
                           "no finite maximum-likelihood rewards: the gap grows with every epoch (about as the log of "
                           "their number), so a reward model trained this way over-fits; stop early or regularise "
                           "(weight decay, a prior on r).", details=details)


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"
