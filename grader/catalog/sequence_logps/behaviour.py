"""sequence_logps's behaviour run: the toy's prompt and answer scored under logits aimed at
the next token and at each position's own token, then with padding appended."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.catalog.toy import CHOSEN, PROMPT, VOCAB
from grader.checks.details import details as behaviour_details
from grader.core.results import CheckResult
from grader.core.tolerances import SEQUENCE_NEXT_MEAN_ATOL, SEQUENCE_OWN_MEAN_MAX_FRACTION, SEQUENCE_PADDING_RTOL


class AlignmentBehaviour:
    """The toy's prompt and answer scored under logits built to point at one token each.

    `next`: each position's logits put a margin of GAP on the token that follows it, the
    alignment of a causal LM; `own`: on the position's own token, the alignment an unshifted
    implementation assumes. A correct function scores `next` about 0 per token and `own`
    about -GAP. Then padding with mask 0 is appended: no sum and no mean may move.
    """

    gap = 20.0
    padding = 5

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        g = torch.Generator().manual_seed(seed)
        ids = torch.tensor([PROMPT + CHOSEN])  # [1, T]
        t = ids.shape[1]
        mask = torch.tensor([[0.0] * len(PROMPT) + [1.0] * len(CHOSEN)])  # [1, T]
        noise = 0.1 * torch.randn(1, t, VOCAB, generator=g)
        aimed = {"next": noise.clone(), "own": noise.clone()}
        aimed["next"][0, torch.arange(t - 1), ids[0, 1:]] += self.gap  # position t points at token t + 1
        aimed["own"][0, torch.arange(t), ids[0]] += self.gap  # position t points at token t
        pad_ids = torch.cat([ids, torch.randint(0, VOCAB, (1, self.padding), generator=g)], 1)
        pad_mask = torch.cat([mask, torch.zeros(1, self.padding)], 1)
        pad_logits = 3.0 * torch.randn(1, self.padding, VOCAB, generator=g)

        def score(logits: torch.Tensor, input_ids: torch.Tensor, m: torch.Tensor, average: bool) -> float:
            with torch.no_grad():
                return float(torch.as_tensor(fn(logits, input_ids, m, average=average)).reshape(-1)[0])

        scores = {}
        for name, logits in aimed.items():
            padded = torch.cat([logits, pad_logits], 1)
            for reduction, average in (("sum", False), ("mean", True)):
                scores[f"{name}_{reduction}"] = score(logits, ids, mask, average)
                scores[f"{name}_{reduction}_padded"] = score(padded, pad_ids, pad_mask, average)
        return {"scores": scores, "tokens": len(CHOSEN), "gap": self.gap, "padding": self.padding}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        s, gap, n, pad = data["scores"], data["gap"], data["tokens"], data["padding"]
        details = behaviour_details(**{k: round(v, 6) for k, v in s.items()})  # no curves: six scores
        shown = (f"logits aimed at the next token score {s['next_mean']:.3g} per token (sum {s['next_sum']:.4g}), "
                 f"aimed at each position's own token {s['own_mean']:.3g} per token (sum {s['own_sum']:.4g})")
        bad = [f"{k.replace('_', ' ')} = {v}" for k, v in s.items() if not math.isfinite(v)]
        if bad:
            return CheckResult("behaviour", "fail", f"scores that must be finite are not: {', '.join(bad)}.",
                               details=details)
        problems = []
        if s["next_mean"] < -SEQUENCE_NEXT_MEAN_ATOL:
            problems.append(f"logits that give each next token a margin of {gap:g} should score about 0 per token, "
                            f"got {s['next_mean']:.3g}")
        if s["own_mean"] > -SEQUENCE_OWN_MEAN_MAX_FRACTION * gap:
            problems.append(f"logits aimed at each position's own token should score about -{gap:g} per token, "
                            f"got {s['own_mean']:.3g}")
        if s["next_mean"] < -SEQUENCE_OWN_MEAN_MAX_FRACTION * gap and s["own_mean"] > -SEQUENCE_NEXT_MEAN_ATOL:
            problems.append("the function scores token t with logits[:, t]; a causal LM predicts token t with "
                            "logits[:, t - 1]")
        moved = [f"{k.replace('_', ' ')} {s[k]:.6g} → {s[k + '_padded']:.6g}" for k in
                 ("next_sum", "next_mean", "own_sum", "own_mean")
                 if abs(s[k] - s[k + "_padded"]) > SEQUENCE_PADDING_RTOL * (1 + abs(s[k]))]
        if moved:
            problems.append(f"appending {pad} padding tokens with mask 0 moved the scores: " + ", ".join(moved))
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + f". Measured: {shown}.", details=details)
        return CheckResult("behaviour", "pass", f"{shown[0].upper()}{shown[1:]}; appending {pad} padding tokens "
                           f"with mask 0 moves none of them. Each of the {n} response tokens is scored by the logits "
                           "one position before it.", details=details)
