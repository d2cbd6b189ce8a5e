"""dpo: seeded cases, the catalogued mistakes' models, and the behaviour run."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.toy import BetaSweep, finite
from grader.checks.details import details, series
from grader.core.results import CheckResult
from grader.core.tolerances import DPO_PI_REJECTED_END_FRACTION, DPO_STILL_FALLING_NATS
from grader.checks.function import Param
from grader.checks.cases import Case
from grader.catalog.pairs import (LOGISTIC_BAND, REF_NAMES, SATURATED_BAND, TOKEN_RATIO_RANGE, extreme_pair_case,
                                  masked_mean, masked_sum, pair_case, pairwise_spec, shift_rows, softplus_by_hand,
                                  tied)
from grader.catalog.pair_battery import (batch_edges, longer_sides, strided, tall_batch, with_both_empty,
                                         with_empty_rows, with_expanded_masks, with_far_padding, with_zeros)
from grader.checks.conventions import (Conventions, Knob, batch_knob, over_batch, reduce_tokens, reduction_knob,
                                       sign_knob)

def make_cases(seed: int) -> list[Case]:
    return [
        # Padding down to the statement's -1e38 in both dtypes (0 · -1e38 is 0; code that sums the
        # padding and takes it away again overflows).
        with_far_padding(pair_case(seed, 1, "padded", 4, 7, 5, torch.float32, "float", {})),
        with_far_padding(pair_case(seed, 2, "float64, bool masks", 3, 6, 6, torch.float64, "bool", {"beta": 0.5})),
        pair_case(seed, 3, "B=1, T=1", 1, 1, 1, torch.float32, "int32", {"beta": 0.3}, prompt=False),
        pair_case(seed, 4, "tiny, int64 masks", 2, 3, 3, torch.float64, "int", {"beta": 0.2}),
        pair_case(seed, 5, "longer, int8 masks", 5, 12, 9, torch.float32, "int8", {"beta": 1.0}),
        # The fixed battery: exact zeros, non-contiguous log-probs, expanded masks, the range's end.
        with_zeros(pair_case(seed, 8, "exact zeros", 3, 6, 5, torch.float64, "float", {"beta": 0.3})),
        strided(pair_case(seed, 9, "", 3, 6, 6, torch.float32, "float", {"beta": 0.2}), "non-contiguous log-probs"),
        with_expanded_masks(pair_case(seed, 10, "expanded masks", 3, 5, 4, torch.float64, "float", {"beta": 0.4})),
        extreme_pair_case(seed, 6, "huge log-ratios, float64", 4, 64, torch.float64, {"beta": 0.5}),
        extreme_pair_case(seed, 7, "huge log-ratios, float32", 4, 48, torch.float32, {"beta": 0.1}),
        extreme_pair_case(seed, 11, "per-token log-ratios of ±200", 4, 16, torch.float64, {"beta": 0.1},
                          top=TOKEN_RATIO_RANGE),
        _at_logistic(pair_case(seed, 12, "β·h from 5.5 to 12 in size", 8, 4, 5, torch.float64, "float",
                               {"beta": 0.5}, prompt=False), LOGISTIC_BAND),
        # float32 pairs past exp's overflow (β·h of ±85 to ±120, β's end 1) judged at the plain
        # float32 tolerance (the huge log-ratio case's, scaled by its size, exceeds β/B): a
        # confidently wrong pair's gradient is -β/B, and code that treats saturated pairs as
        # constants gives 0 there.
        _saturated(_at_logistic(pair_case(seed, 35, "β·h from 85 to 120 in size, float32", 8, 4, 5, torch.float32,
                                          "float", {"beta": 1.0}, prompt=False), SATURATED_BAND)),
        tied(pair_case(seed, 13, "policy = reference", 3, 5, 4, torch.float64, "float", {"beta": 0.5}),
             {"ref_chosen_logps": "policy_chosen_logps", "ref_rejected_logps": "policy_rejected_logps"},
             "h = 0 in every row, as at the first step of training"),
        *longer_sides(seed, pair_case, beta=0.3),
        with_empty_rows(pair_case(seed, 22, "empty responses", 3, 5, 4, torch.float32, "float", {"beta": 0.2})),
        # T = 1 still has a mask: a shortcut that takes [B, 1] log-probs as already summed ignores it
        with_empty_rows(pair_case(seed, 23, "T=1, empty responses", 3, 1, 1, torch.float64, "float", {"beta": 0.2},
                                  prompt=False)),
        # Real batches: B = 33 and responses over 256 tokens (past micro-batch and chunk sizes),
        # multi-turn masks, and pairs truncated away whole (h = 0, still in the batch mean), one of
        # them at β's small end.
        *batch_edges(seed, pair_case, beta=0.3),
        tall_batch(seed, pair_case, beta=0.3),
        with_both_empty(pair_case(seed, 33, "a pair truncated away, small β", 4, 5, 4, torch.float64, "float",
                                  {"beta": 0.02}), [2]),
        with_both_empty(pair_case(seed, 34, "every pair truncated away", 2, 3, 3, torch.float32, "bool",
                                  {"beta": 0.5})),
    ]


def _at_logistic(case: Case, band: tuple[float, ...]) -> Case:
    """Rows whose β·h are `band` (one value a row): the reference's chosen log-probs lowered to
    raise h, the policy's chosen log-probs to lower it."""
    x, beta = case.inputs, case.options["beta"]
    h = _h(*(x[n].to(torch.float64) for n in REF_NAMES))
    want = torch.tensor(band, dtype=torch.float64) / beta
    return shift_rows(case, h, want, up=("ref_chosen_logps", "chosen_mask"),
                      down=("policy_chosen_logps", "chosen_mask"), per_token=False)


def _saturated(case: Case) -> Case:
    """Judged by `stability` (where log(sigmoid(x)) belongs, -inf in float32 past -103) at the
    plain tolerance: its inputs are tens of nats, not thousands."""
    case.extreme = True
    return case


# ---------------------------------------------------------------- mistake models
def _h(pc, pr, rc, rr, mc, mr):
    return (masked_sum(pc, mc) - masked_sum(rc, mc)) - (masked_sum(pr, mr) - masked_sum(rr, mr))


def _no_mask(pc, pr, rc, rr, mc, mr, beta=0.1):
    """Both masks ignored, or only one of them."""
    ones_c, ones_r = torch.ones_like(pc), torch.ones_like(pr)
    return [{"loss": -F.logsigmoid(beta * _h(pc, pr, rc, rr, m_c, m_r)).mean()}
            for m_c, m_r in ((ones_c, ones_r), (ones_c, mr), (mc, ones_r))]


def _per_token(pc, pr, rc, rr, mc, mr, beta=0.1):
    m = mc.to(pc.dtype)
    per_token = -F.logsigmoid(beta * ((pc - rc) - (pr - rr))) * m  # needs Tc == Tr
    return [{"loss": (per_token.sum(-1) / m.sum(-1).clamp_min(1)).mean()},
            {"loss": (per_token.sum(-1) / m.sum(-1)).mean()},  # unclamped: NaN for an empty response
            {"loss": per_token.sum() / m.sum()},
            {"loss": per_token.sum(-1).mean()}]


def _mean_tokens(pc, pr, rc, rr, mc, mr, beta=0.1):
    """The per-token mean, its count clamped to 1 or not (0 / 0 = NaN on an empty response)."""
    out = []
    for clamp in (True, False):
        mean = lambda lp, m: masked_mean(lp, m, clamp=clamp)  # noqa: E731
        h = (mean(pc, mc) - mean(rc, mc)) - (mean(pr, mr) - mean(rr, mr))
        out.append({"loss": -F.logsigmoid(beta * h).mean()})
    return out


def _clamped_ratios(pc, pr, rc, rr, mc, mr, beta=0.1):
    """Per-token log-ratios clamped to ±c before the sum (a guard against 'exploding' ratios)."""
    out = []
    for c in (50.0, 20.0, 100.0, 10.0, 30.0):
        h = masked_sum((pc - rc).clamp(-c, c), mc) - masked_sum((pr - rr).clamp(-c, c), mr)
        out.append({"loss": -F.logsigmoid(beta * h).mean()})
    return out


MODELS: dict[str, Callable[..., Any]] = {
    "max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie":
        lambda *a, beta=0.1: [{"loss": v.mean()} for v in softplus_by_hand(beta * _h(*a))],
    "mask not applied": _no_mask,
    "log σ applied per token instead of per sequence": _per_token,
    "sign flipped": lambda *a, beta=0.1: {"loss": -F.logsigmoid(-beta * _h(*a)).mean()},
    "β missing": lambda *a, beta=0.1: {"loss": -F.logsigmoid(_h(*a)).mean()},
    "log(sigmoid(x)) instead of logsigmoid": lambda *a, beta=0.1: {"loss": -torch.log(torch.sigmoid(beta * _h(*a))).mean()},
    "mean over tokens instead of sum": _mean_tokens,
    "reference log-ratio ignored":
        lambda pc, pr, rc, rr, mc, mr, beta=0.1: {"loss": -F.logsigmoid(beta * (masked_sum(pc, mc) - masked_sum(pr, mr))).mean()},
    "loss summed over the batch instead of averaged": lambda *a, beta=0.1: {"loss": -F.logsigmoid(beta * _h(*a)).sum()},
    "per-token log-ratios clamped": _clamped_ratios,
}


def _formula(k, pc, pr, rc, rr, mc, mr, beta=0.1):
    """eq. 7 with its conventions as knobs (grader.checks.conventions)."""
    seq = lambda lp, m: reduce_tokens(lp, m, k["reduction"])
    ref = {"subtract": 1.0, "ignored": 0.0, "added": -1.0}[k["reference"]]
    c, r = seq(pc, mc) - ref * seq(rc, mc), seq(pr, mr) - ref * seq(rr, mr)
    h = (c - r) if k["h"] == "+" else (r - c)
    per_pair = {"inside": -F.logsigmoid(beta * h), "missing": -F.logsigmoid(h),
                "outside": -beta * F.logsigmoid(h)}[k["beta"]]
    scale = beta if k["rewards"] == "beta" else 1.0
    return {"loss": over_batch(per_pair, k["batch"]), "chosen_rewards": scale * c, "rejected_rewards": scale * r}


CONVENTIONS = Conventions(_formula, (
    reduction_knob("sum", "mean_clamped", "padded_mean", "nonzero_mean", "unmasked_sum", "batch_count",
                   mean_clamped="mean over tokens instead of sum", unmasked_sum="mask not applied"),
    Knob("reference", "subtract", {"ignored": "reference log-ratio ignored",
                                   "added": "reference log-probs added instead of subtracted"}),
    Knob("beta", "inside", {"missing": "β missing", "outside": "β outside the log σ: β·(-log σ(h)) instead of -log σ(β·h)"}),
    sign_knob("h", "sign flipped"),
    batch_knob(),
    Knob("rewards", "beta", {"plain": "rewards without β (the log-ratios themselves)"}),
))


# ---------------------------------------------------------------- behaviour
class DPOBehaviour(BetaSweep):
    """π(y_l) under the submission's DPO loss, for β = 0.1 and β = 0.5 from the same start."""

    betas = (0.1, 0.5)
    steps, lr = 150, 2.0

    def judge(self, data: dict[str, Any]) -> CheckResult:
        import math

        parts, problems, curves, judged = [], [], [], {}
        for beta, traj in data["runs"].items():
            lp = traj["logp_rejected"]
            if not finite(lp):
                problems.append(f"β={beta}: training produced NaN or inf")
                continue
            start, mid, end = lp[0], lp[2 * len(lp) // 3], lp[-1]
            p0, p_mid, p_end = math.exp(start), math.exp(mid), math.exp(end)
            parts.append(f"β={beta}: π(y_l) {p0:.4f} → {p_mid:.5f} → {p_end:.5f}")
            curves.append(series("π(y_l)", [math.exp(x) for x in lp], β=float(beta)))
            judged[f"pi_rejected_start_beta_{beta}"] = p0
            judged[f"pi_rejected_two_thirds_beta_{beta}"] = p_mid
            judged[f"pi_rejected_final_beta_{beta}"] = p_end
            if p_end > DPO_PI_REJECTED_END_FRACTION * p0:
                problems.append(f"β={beta}: π(y_l) did not fall (from {p0:.4f} to {p_end:.4f})")
            elif end - mid > -DPO_STILL_FALLING_NATS:
                problems.append(f"β={beta}: π(y_l) stopped falling at {p_end:.5f} (a fixed point DPO does not have)")
        summary = "; ".join(parts) + f" (per-token geometric mean, steps 0 / {2 * self.steps // 3} / {self.steps})."
        found = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=found)
        return CheckResult("behaviour", "pass", summary + " π(y_l) is still falling in both runs: DPO has no finite "
                           "optimum when the chosen answer always wins, so β sets the pace, not the end point.",
                           details=found)


SPEC = pairwise_spec("dpo_loss", REF_NAMES, (Param("beta", 0.1),), ("loss", "chosen_rewards", "rejected_rewards"),
                     make_cases, MODELS, DPOBehaviour(), detached=("chosen_rewards", "rejected_rewards"),
                     conventions=CONVENTIONS, findings={"extra_outputs": "extra outputs returned"})
