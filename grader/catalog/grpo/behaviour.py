"""grpo's behaviour run: four things GRPO does, shown with the submission's grpo_loss.

1. The zero loss that still learns: on-policy (old_logps == logps, detached), β = 0 and group
   advantages, the "grpo" loss is -mean(A) = 0 up to rounding, while each token's gradient is
   -A_i / (B·|o_i|) (TRL issues #2703, #3452: "the loss is 0, is the model learning?").
2. Length weighting: two completions with the same advantage, of lengths 2 and 8. Under "grpo"
   a token of the short one gets 4× the gradient of a token of the long one (the bias Dr. GRPO
   removes); under "bnpo" and "dr_grpo" every token gets the same.
3. Clipping: with β = 0 and ε_low = 0.2, ε_high = 0.28, tokens clipped in their advantage's
   direction get exactly no gradient and the others do (a ratio of 1.25 with A > 0 is inside
   only because ε_high is honoured); under "sequence" a completion is clipped as a whole.
4. Training: a toy policy (6 independent positions over a vocabulary of 8, one rewarded answer,
   reward = the fraction of right tokens) sampled in one group of 8 and trained with plain SGD
   on the submission's loss and group advantages computed here (the `advantages` kata is graded
   on its own): the expected reward rises, and the final KL(π ‖ π_ref) falls as β grows.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.checks.details import details, series
from grader.core.results import CheckResult
from grader.core.tolerances import GRPO_BEHAVIOUR as TH

ZERO_LENGTHS = (6, 3, 2, 5)
ZERO_REWARDS = (1.0, 0.0, 0.5, 0.0)
LENGTHS = (2, 8)
CLIP_EPS = (0.2, 0.28)
# Token-level clipping: row 0 has A = +1, row 1 has A = -1; True where the token is clipped.
CLIP_RATIOS = ((0.7, 0.9, 1.1, 1.25, 1.35, 1.6), (0.6, 0.75, 0.85, 1.1, 1.3, 1.5))
CLIP_CLIPPED = ((False, False, False, False, True, True), (True, True, False, False, False, False))
# Sequence-level: both rows A = +1; row 0's mean log-ratio is log 1.4 (clipped) though two of its
# tokens alone are inside; row 1's is log 1.1 (inside) though one token alone is far above 1.28.
SEQ_RATIOS = (1.4, 1.1)
SEQ_OFFSETS = ((0.5, -0.6, 0.3, -0.2), (0.6, -0.2, -0.2, -0.2))
TARGET = (3, 1, 4, 1, 5, 2)
VOCAB, GROUP, GROUPS = 8, 8, 1


def group_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """[B] -> [B]: (r - group mean) / (group std + 1e-4), Shao et al. 2024, §4.1.2."""
    g = rewards.view(-1, group_size)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-4)).view(-1)


def _mask(lengths: tuple[int, ...], t: int) -> torch.Tensor:
    return (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).float()  # [B, T]


def _grad(fn: Callable, logps: torch.Tensor, old: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor,
          **options: Any) -> tuple[float, list[list[float]]]:
    leaf = logps.detach().clone().requires_grad_(True)
    loss = fn(leaf, old.clone(), logps.detach().clone(), adv.clone(), mask.clone(), beta=0.0, **options)[0]
    (grad,) = torch.autograd.grad(loss, leaf)
    return float(loss.detach()), grad.tolist()


def _train(fn: Callable, beta: float, seed: int) -> dict[str, list[float]]:
    """Plain SGD on a [6, 8] table of logits; the exact expected reward and KL(π ‖ π_ref) per step."""
    g = torch.Generator().manual_seed(seed)
    table = (0.1 * torch.randn(len(TARGET), VOCAB, generator=g, dtype=torch.float64)).float().requires_grad_(True)
    ref_all = torch.log_softmax(table.detach(), -1)  # [L, V]
    target, positions = torch.tensor(TARGET), torch.arange(len(TARGET))
    sampler = torch.Generator().manual_seed(seed + 1)
    mask = torch.ones(GROUP * GROUPS, len(TARGET))
    seen = []  # each step's log π, before its update: reduced to the curves at the end
    for _ in range(TH["train_steps"]):
        lp_all = torch.log_softmax(table, -1)  # [L, V]
        with torch.no_grad():
            p = lp_all.exp()
            seen.append(lp_all.detach())
            ids = torch.multinomial(p.double(), GROUP * GROUPS, replacement=True, generator=sampler).t()  # [B, L]
        logps = lp_all[positions, ids]  # [B, L]: position l's log-prob of the token sampled there
        ref = ref_all[positions, ids]  # [B, L]
        adv = group_advantages((ids == target).float().mean(1), GROUP)  # [B]
        out = fn(logps, logps.detach().clone(), ref, adv, mask.clone(), beta=beta)
        (grad,) = torch.autograd.grad(out[0] if isinstance(out, (tuple, list)) else out, table)
        with torch.no_grad():
            table -= TH["train_lr"] * grad
    if not seen:
        return {"reward": [], "kl": []}
    with torch.no_grad():
        lp = torch.stack(seen)  # [steps, L, V]
        p = lp.exp()
        return {"reward": p[:, positions, target].mean(-1).tolist(), "kl": (p * (lp - ref_all)).sum((1, 2)).tolist()}


class GRPOBehaviour:
    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        g = torch.Generator().manual_seed(seed)
        data: dict[str, Any] = {}
        # 1. on-policy, β = 0, group advantages
        t = max(ZERO_LENGTHS)
        logps = -3 * torch.rand(len(ZERO_LENGTHS), t, generator=g)
        adv = group_advantages(torch.tensor(ZERO_REWARDS), len(ZERO_REWARDS))
        loss, grad = _grad(fn, logps, logps, adv, _mask(ZERO_LENGTHS, t))
        data["zero"] = {"loss": loss, "grad": grad, "advantages": adv.tolist()}
        # 2. the same advantage, lengths 2 and 8
        t = max(LENGTHS)
        logps = -3 * torch.rand(len(LENGTHS), t, generator=g)
        data["length"] = {lt: _grad(fn, logps, logps, torch.ones(len(LENGTHS)), _mask(LENGTHS, t), loss_type=lt)[1]
                          for lt in ("grpo", "bnpo", "dr_grpo")}
        # 3. clipping, token and sequence level
        eps = {"epsilon_low": CLIP_EPS[0], "epsilon_high": CLIP_EPS[1]}
        logps = -3 * torch.rand(2, len(CLIP_RATIOS[0]), generator=g)
        old = logps - torch.tensor(CLIP_RATIOS).log()
        data["clip"] = _grad(fn, logps, old, torch.tensor([1.0, -1.0]), torch.ones_like(logps), **eps)[1]
        logps = -3 * torch.rand(2, len(SEQ_OFFSETS[0]), generator=g)
        old = logps - (torch.tensor(SEQ_RATIOS).log().unsqueeze(1) + torch.tensor(SEQ_OFFSETS))
        data["clip_sequence"] = _grad(fn, logps, old, torch.ones(2), torch.ones_like(logps),
                                      importance_sampling_level="sequence", **eps)[1]
        # 4. training
        data["train"] = {str(beta): _train(fn, beta, seed) for beta in TH["train_betas"]}
        return data

    def judge(self, data: dict[str, Any]) -> CheckResult:
        problems, parts, judged = [], [], {}
        # 1.
        z = data["zero"]
        b = len(ZERO_LENGTHS)
        worst = 0.0
        for i, n in enumerate(ZERO_LENGTHS):
            want = -z["advantages"][i] / (b * n)
            for j, got in enumerate(z["grad"][i]):
                expected = want if j < n else 0.0
                worst = max(worst, abs(got - expected) / max(abs(expected), TH["grad_floor"]))
        judged.update(onpolicy_loss=z["loss"], onpolicy_grad_worst_rel_error=worst)
        parts.append(f"on-policy β=0: loss {z['loss']:.2e}, gradient -A_i/(B·|o_i|) at every token "
                     f"(worst relative error {worst:.1e})")
        if not abs(z["loss"]) < TH["zero_loss"]:
            problems.append(f"on-policy with β=0 the \"grpo\" loss should be -mean(A) = 0, got {z['loss']:.3g}")
        if not worst <= TH["grad_rtol"]:
            problems.append(f"on-policy, the gradient at a token of completion i should be -A_i/(B·|o_i|); "
                            f"worst relative error {worst:.3g}")
        # 2.
        per_token = {}
        for lt, grad in data["length"].items():
            short, long_ = sum(grad[0][:LENGTHS[0]]) / LENGTHS[0], sum(grad[1][:LENGTHS[1]]) / LENGTHS[1]
            per_token[lt] = (short, long_)
            ratio = short / long_ if long_ else math.inf
            judged[f"length_ratio_{lt}"] = ratio
            want = LENGTHS[1] / LENGTHS[0] if lt == "grpo" else 1.0
            if not abs(ratio - want) <= TH["length_rtol"] * want:
                problems.append(f"under \"{lt}\" a token of the 2-token completion should get {want:g}× the gradient "
                                f"of one of the 8-token completion, got {ratio:.4g}×")
                continue
            # A = 1, B = 2: -1/(B·|o_i|) under "grpo", -1/(number of tokens) under "bnpo", -1/(B·T) under "dr_grpo".
            b, t = len(LENGTHS), max(LENGTHS)
            expected = {"grpo": -1 / (b * LENGTHS[1]), "bnpo": -1 / sum(LENGTHS), "dr_grpo": -1 / (b * t)}[lt]
            if not abs(long_ - expected) <= TH["length_rtol"] * abs(expected):
                problems.append(f"under \"{lt}\" a token of the 8-token completion should get the gradient "
                                f"{expected:.4g} (A = 1, B = 2, T = 8), got {long_:.4g}")
        parts.append("per-token gradient, lengths 2 vs 8: " + ", ".join(
            f"{lt} {s:.4f} vs {l:.4f}" for lt, (s, l) in per_token.items()))
        # 3.
        bad = [(i, j) for i, row in enumerate(CLIP_CLIPPED) for j, clipped in enumerate(row)
               if (data["clip"][i][j] != 0) == clipped]
        seq = data["clip_sequence"]
        seq_bad = any(x != 0 for x in seq[0]) or any(x == 0 for x in seq[1])
        judged.update(clip_token_grad_high_inside=data["clip"][0][3], clip_wrong_tokens=len(bad),
                      clip_sequence_row_clipped_grads=seq[0], clip_sequence_row_inside_grads=seq[1])
        for i, j in bad:
            a = "+1" if i == 0 else "-1"
            state = "clipped: it should get no gradient" if CLIP_CLIPPED[i][j] else "not clipped: it should get one"
            problems.append(f"token with ratio {CLIP_RATIOS[i][j]:g} and A = {a} (ε_low 0.2, ε_high 0.28) is {state}, "
                            f"got {data['clip'][i][j]:.3g}")
        if seq_bad:
            problems.append("under \"sequence\", a completion whose ratio (1.4) is clipped should give all its tokens "
                            "no gradient, and one inside (1.1) all of them one, whatever each token's own ratio; got "
                            f"{[round(x, 4) for x in seq[0]]} and {[round(x, 4) for x in seq[1]]}")
        parts.append("clipped tokens get no gradient, ε_high = 0.28 honoured at ratio 1.25, whole completions "
                     "clipped under \"sequence\"" if not bad and not seq_bad else "clipping wrong")
        # 4.
        curves, train_parts = [], []
        finals = []
        for beta, run in data["train"].items():
            r, k = run["reward"], run["kl"]
            curves += [series("mean reward", r, β=float(beta)), series("KL(π‖π_ref)", k, β=float(beta))]
            if not all(map(math.isfinite, r + k)):
                problems.append(f"β={beta}: training produced NaN or inf")
                continue
            judged[f"reward_start_beta_{beta}"], judged[f"reward_end_beta_{beta}"] = r[0], r[-1]
            judged[f"kl_end_beta_{beta}"] = k[-1]
            finals.append((float(beta), k[-1]))
            train_parts.append(f"β={beta}: reward {r[0]:.3f} → {r[-1]:.3f}, KL {k[-1]:.3f}")
            if r[-1] - r[0] < TH["reward_gain"]:
                problems.append(f"β={beta}: the mean reward did not rise (from {r[0]:.3f} to {r[-1]:.3f})")
        finals.sort()
        for (b0, k0), (b1, k1) in zip(finals, finals[1:]):
            if not k1 < TH["kl_drop"] * k0:
                problems.append(f"the final KL to the reference should fall as β grows: {k0:.3f} at β={b0:g}, "
                                f"{k1:.3f} at β={b1:g}")
        parts.append("training " + "; ".join(train_parts))
        summary = "; ".join(parts) + "."
        result = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems[:4]) + ". " + summary, details=result)
        return CheckResult("behaviour", "pass", summary, details=result)
