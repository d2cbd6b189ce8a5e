"""ppo's behaviour run: where the clipped loss's gradient is 0, the on-policy identity, and the toy
policy trained on one rollout (grader.catalog.ppo.toy) with ε = 0.1, 0.2 and inf.

`run` executes in the sandboxed child with the submission and returns plain numbers; `judge`
recomputes what they must be from the seed, here in the grader, and decides.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.catalog.ppo import toy
from grader.checks.cases import generator
from grader.checks.details import details, series
from grader.core.faults import MalformedResults
from grader.core.results import CheckResult
from grader.core.tolerances import (BEHAVIOUR_RTOL, PPO_PLATEAU_FLAT, PPO_PLATEAU_MARGIN, PPO_UNCLIPPED_GROWTH,
                                     PPO_UNCLIPPED_MIN)

F64 = torch.float64
CLIP_EPS = 0.2
# Each row: six ratios from below 1 - ε to above 1 + ε, then a token with A = 0, then padding.
CLIP_RATIOS = ((0.5, 0.7, 0.9, 1.1, 1.3, 2.0, 1.5, 1.0), (0.5, 0.7, 0.9, 1.1, 1.3, 2.0, 0.6, 1.0))


def eps_label(eps: float) -> str:
    return "inf" if math.isinf(eps) else f"{eps:g}"


def clip_inputs(seed: int) -> tuple[torch.Tensor, ...]:
    """Row 0 has positive advantages, row 1 negative ones; ε = 0.2. [2, 8] each, float64."""
    g = generator(seed, 950)
    old = -1.5 - 2.5 * torch.rand(2, 8, generator=g, dtype=F64)
    logps = old + torch.tensor(CLIP_RATIOS, dtype=F64).log()
    size = 0.5 + torch.rand(2, 8, generator=g, dtype=F64)
    adv = torch.cat([size[:1], -size[1:]]) * torch.tensor([1.0] * 6 + [0.0, 1.0], dtype=F64)  # A = 0 at column 6
    zeros = torch.zeros(2, 8, dtype=F64)
    mask = torch.tensor([[1.0] * 7 + [0.0]] * 2, dtype=F64)
    return logps, old, adv, zeros, zeros.clone(), zeros.clone(), mask


def clipped_in_direction(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(clipped, judged): response tokens with A != 0, and among them those whose ratio is past the
    bound the advantage pushes towards (A > 0 and r > 1 + ε, or A < 0 and r < 1 - ε)."""
    logps, old, adv, *_, mask = clip_inputs(seed)
    ratio = torch.exp(logps - old)
    judged = mask.bool() & (adv != 0)
    clipped = judged & (((adv > 0) & (ratio > 1 + CLIP_EPS)) | ((adv < 0) & (ratio < 1 - CLIP_EPS)))
    return clipped, judged


def on_policy_inputs(seed: int) -> tuple[torch.Tensor, ...]:
    g = generator(seed, 951)
    logps = -3 * torch.rand(3, 6, generator=g, dtype=F64)
    adv = torch.randn(3, 6, generator=g, dtype=F64)
    values, returns = torch.randn(3, 6, generator=g, dtype=F64), torch.randn(3, 6, generator=g, dtype=F64)
    mask = torch.tensor([[1] * 6, [1] * 3 + [0] * 3, [0] * 6])
    return logps, logps.clone(), adv, values, values.clone(), returns, mask


class PPOBehaviour:
    epsilons = (0.1, 0.2, math.inf)
    epochs, lr = 120, 0.1
    optimiser = "plain SGD"

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        logps, old, adv, values, *rest = clip_inputs(seed)
        logps, values = logps.clone().requires_grad_(True), values.clone().requires_grad_(True)
        _, policy_loss, value_loss, _ = fn(logps, old, adv, values, *rest, clip_eps=CLIP_EPS)
        has_graph = lambda t: isinstance(t, torch.Tensor) and t.requires_grad  # noqa: E731
        clip: dict[str, Any] = {"graph": has_graph(policy_loss), "value_graph": has_graph(value_loss)}
        if clip["graph"]:
            (grad,) = torch.autograd.grad(policy_loss, logps, allow_unused=True)
            clip["grad"] = None if grad is None else grad.detach().to(F64).tolist()
        on_policy = float(fn(*on_policy_inputs(seed))[1])
        runs = {eps_label(e): toy.train(fn, e, self.epochs, self.lr, seed) for e in self.epsilons}
        return {"seed": seed, "clip": clip, "on_policy": on_policy, "runs": runs}

    def refuse_malformed(self, data: Any) -> None:
        """What the child wrote must have the shape `run` gives it; anything else is the submission's
        doing (a forged result), not the grader's."""
        def numbers(xs: Any, n: int) -> bool:
            return isinstance(xs, list) and len(xs) == n and all(isinstance(x, (int, float)) for x in xs)

        clip = data.get("clip") if isinstance(data, dict) else None
        runs = data.get("runs") if isinstance(data, dict) else None
        problem = ""
        if not (isinstance(clip, dict) and isinstance(clip.get("graph"), bool)
                and isinstance(clip.get("value_graph"), bool) and isinstance(data.get("seed"), int)
                and isinstance(data.get("on_policy"), (int, float))):
            problem = "the clipping probe's record"
        elif clip.get("grad") is not None and not (isinstance(clip["grad"], list) and len(clip["grad"]) == 2
                                                   and all(numbers(row, 8) for row in clip["grad"])):
            problem = "the clipping probe's gradient"
        elif not (isinstance(runs, dict) and set(runs) == {eps_label(e) for e in self.epsilons}
                  and all(isinstance(r, dict) and numbers(r.get("ratio"), self.epochs + 1)
                          and numbers(r.get("kl"), self.epochs + 1) for r in runs.values())):
            problem = "the training runs"
        if problem:
            raise MalformedResults(f"the behaviour run's data is not what the grader's run writes: {problem}")

    def judge(self, data: dict[str, Any]) -> CheckResult:
        self.refuse_malformed(data)
        seed = int(data["seed"])
        problems, parts = [], []
        # 1. The gradient is 0 exactly where clipping is active, and only there.
        clipped, judged = clipped_in_direction(seed)
        clip = data["clip"]
        if not clip["value_graph"]:
            problems.append("value_loss carries no graph: loss, policy_loss and value_loss keep theirs "
                            "(no .detach() or .item() on the way)")
        if not clip["graph"] or clip.get("grad") is None:
            problems.append("policy_loss carries no graph to logps, so its gradient cannot be inspected; "
                            "return it with its graph")
        else:
            grad = torch.tensor(clip["grad"], dtype=F64)
            leaks = clipped & (grad != 0)
            dead = judged & ~clipped & (grad == 0)
            if leaks.any():
                problems.append(f"the gradient is nonzero at {int(leaks.sum())} of the {int(clipped.sum())} tokens "
                                "clipped in their advantage's direction (A > 0 with ratio > 1 + ε, A < 0 with "
                                "ratio < 1 - ε); there the clipped term wins and the token must not move")
            if dead.any():
                problems.append(f"the gradient is 0 at {int(dead.sum())} of the {int((judged & ~clipped).sum())} "
                                "tokens that are not clipped in their advantage's direction")
            if not (leaks.any() or dead.any()):
                parts.append(f"gradient exactly 0 at the {int(clipped.sum())} tokens clipped in their advantage's "
                             f"direction and nonzero at the {int((judged & ~clipped).sum())} others (ε = {CLIP_EPS:g})")
        # 2. On-policy the ratio is 1 and the loss is -mean(A).
        _, _, adv, _, _, _, mask = on_policy_inputs(seed)
        m = mask.to(F64)
        want = float(-(adv * m).sum() / m.sum().clamp(min=1))
        got = data["on_policy"]
        if not abs(got - want) <= BEHAVIOUR_RTOL * max(1.0, abs(want)):
            problems.append(f"on-policy (logps == old_logps) policy_loss should be -mean(A) = {want:.6f}, got {got:.6g}")
        else:
            parts.append(f"on-policy policy_loss = -mean(A) = {want:.4f}")
        # 3. The toy run: clipped ratios level off just above 1 + ε; unclipped ones keep growing.
        curves, ends = [], {}
        limit = 1 / math.exp(float(toy.rollout(seed)["old_logps"][0, 0]))  # 1 / π_old of the advantaged action
        for label, run in data["runs"].items():
            ratio = [float(x) for x in run["ratio"]]
            curves += [series("ratio π/π_old", ratio, x="epoch", ε=label),
                       series("KL(π_old‖π)", run["kl"], x="epoch", ε=label)]
            if not all(map(math.isfinite, ratio)):
                problems.append(f"ε={label}: training produced NaN or inf")
                continue
            end, later = ratio[-1], ratio[-1] - ratio[2 * len(ratio) // 3]
            ends[label] = end
            if label == "inf":
                if not (end >= PPO_UNCLIPPED_MIN and later > PPO_UNCLIPPED_GROWTH and end < limit):
                    problems.append(f"ε=inf (no clipping): the ratio should keep growing towards 1/π_old = {limit:g}, "
                                    f"got {ratio[0]:.3f} → {end:.4f} (last third: {later:+.2e})")
                continue
            bound = 1 + float(label)
            if not bound < end <= bound + PPO_PLATEAU_MARGIN:
                problems.append(f"ε={label}: the ratio should level off just above 1 + ε = {bound:g}, got {end:.4f}")
            elif abs(later) > PPO_PLATEAU_FLAT:
                problems.append(f"ε={label}: the ratio is still moving past 1 + ε ({end:.4f}, last third: {later:+.2e})")
        setting = f"{self.optimiser}, lr {self.lr:g}, {self.epochs} epochs on {toy.ROLLOUT}"
        if ends:
            parts.append("ratio of the advantaged action after training: "
                         + ", ".join(f"ε={k}: {v:.4f}" for k, v in ends.items()) + f" ({setting})")
        judged_numbers = {f"final_ratio_eps_{k}": round(v, 6) for k, v in ends.items()}
        judged_numbers.update(on_policy_policy_loss=got, minus_mean_advantage=want, lr=self.lr, epochs=self.epochs)
        info = details(curves, **judged_numbers)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". Measured: " + "; ".join(parts) + ".",
                               details=info)
        return CheckResult("behaviour", "pass", "; ".join(parts) + ". Clipped runs stop one step past 1 + ε "
                           "because the gradient there is exactly 0; without clipping the ratio keeps climbing. "
                           "Momentum (Adam) or negative advantages on the other actions move the plateau: see "
                           "`kata experiment ppo-clip`.", details=info)
