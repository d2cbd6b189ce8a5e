"""ipo: seeded cases, the catalogued mistakes' models, and the behaviour run."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.toy import BetaSweep, finite
from grader.checks.details import details, series
from grader.core.results import CheckResult
from grader.core.tolerances import IPO_SETTLED_NATS, IPO_TARGET_RTOL
from grader.checks.function import Param
from grader.checks.cases import Case
from grader.catalog.pairs import (REF_NAMES, TOKEN_RATIO_RANGE, extreme_pair_case, masked_mean, masked_sum, pair_case,
                                  pairwise_spec)
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
        with_empty_rows(pair_case(seed, 6, "empty responses", 3, 5, 4, torch.float32, "float", {"beta": 0.05})),
        # The fixed battery: exact zeros, non-contiguous log-probs, expanded masks, the range's end.
        with_zeros(pair_case(seed, 9, "exact zeros", 3, 6, 5, torch.float64, "float", {"beta": 0.3})),
        strided(pair_case(seed, 10, "", 3, 6, 6, torch.float32, "float", {"beta": 0.2}), "non-contiguous log-probs"),
        with_expanded_masks(pair_case(seed, 11, "expanded masks", 3, 5, 4, torch.float64, "float", {"beta": 0.4})),
        extreme_pair_case(seed, 7, "huge log-ratios, float64", 4, 64, torch.float64, {"beta": 0.5}),
        extreme_pair_case(seed, 8, "huge log-ratios, float32", 4, 48, torch.float32, {"beta": 0.1}),
        extreme_pair_case(seed, 12, "per-token log-ratios of ±200", 4, 16, torch.float64, {"beta": 0.1},
                          top=TOKEN_RATIO_RANGE),
        *longer_sides(seed, pair_case, beta=0.3),
        with_empty_rows(pair_case(seed, 23, "T=1, empty responses", 3, 1, 1, torch.float64, "float", {"beta": 0.1},
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


# ---------------------------------------------------------------- mistake models
def _h(pc, pr, rc, rr, mc, mr):
    return masked_mean(pc - rc, mc, clamp=True) - masked_mean(pr - rr, mr, clamp=True)


def _summed(pc, pr, rc, rr, mc, mr, beta=0.1):
    h = masked_sum(pc - rc, mc) - masked_sum(pr - rr, mr)
    return {"loss": ((h - 1 / (2 * beta)) ** 2).mean()}


def _wrong_target(*a, beta=0.1):
    return [{"loss": ((_h(*a) - target) ** 2).mean()} for target in (1 / beta, beta / 2)]


def _guide(*a, beta=0.1):
    return {"loss": ((beta * _h(*a) - 1 / beta) ** 2).mean()}


def _log_sigmoid(pc, pr, rc, rr, mc, mr, beta=0.1):
    summed = masked_sum(pc - rc, mc) - masked_sum(pr - rr, mr)
    return [{"loss": -F.logsigmoid(beta * _h(pc, pr, rc, rr, mc, mr)).mean()},
            {"loss": -F.logsigmoid(beta * summed).mean()}]


def _no_mask(pc, pr, rc, rr, mc, mr, beta=0.1):
    h = (pc - rc).mean(-1) - (pr - rr).mean(-1)
    h_over_count = (pc - rc).sum(-1) / mc.to(pc.dtype).sum(-1).clamp(min=1) \
        - (pr - rr).sum(-1) / mr.to(pr.dtype).sum(-1).clamp(min=1)
    return [{"loss": ((h - 1 / (2 * beta)) ** 2).mean()}, {"loss": ((h_over_count - 1 / (2 * beta)) ** 2).mean()}]


def _no_clamp(pc, pr, rc, rr, mc, mr, beta=0.1):
    h = masked_sum(pc - rc, mc) / mc.to(pc.dtype).sum(-1) - masked_sum(pr - rr, mr) / mr.to(pr.dtype).sum(-1)
    return {"loss": ((h - 1 / (2 * beta)) ** 2).mean()}


def _per_token(pc, pr, rc, rr, mc, mr, beta=0.1):
    m = mc.to(pc.dtype)
    per_token = ((pc - rc) - (pr - rr) - 1 / (2 * beta)) ** 2 * m  # needs Tc == Tr
    return [{"loss": (per_token.sum(-1) / m.sum(-1).clamp(min=1)).mean()},
            {"loss": (per_token.sum(-1) / m.sum(-1)).mean()},  # unclamped: NaN for an empty response
            {"loss": per_token.sum() / m.sum()},
            {"loss": per_token.mean(-1).mean()}]


def _summed_rewards(pc, pr, rc, rr, mc, mr, beta=0.1):
    return {"chosen_rewards": beta * masked_sum(pc - rc, mc), "rejected_rewards": beta * masked_sum(pr - rr, mr)}


def _beta_on_h(*a, beta=0.1):
    return {"loss": ((beta * _h(*a) - 1 / (2 * beta)) ** 2).mean()}


MODELS: dict[str, Callable[..., Any]] = {
    "log-ratios summed instead of averaged": _summed,
    "target 1/β or β/2 instead of 1/(2β)": _wrong_target,
    "(β·h - 1/β)² instead of (h - 1/(2β))²": _guide,
    "DPO's -log σ instead of the square": _log_sigmoid,
    "mask not applied": _no_mask,
    "no clamp (NaN on an empty response)": _no_clamp,
    "square applied per token instead of per sequence": _per_token,
    "rewards from summed log-ratios": _summed_rewards,
    "(β·h - 1/(2β))² instead of (h - 1/(2β))²": _beta_on_h,
}


def _formula(k, pc, pr, rc, rr, mc, mr, beta=0.1):
    """eq. 17 (length-normalised) with its conventions as knobs (grader.checks.conventions)."""
    avg = lambda lp, m: reduce_tokens(lp, m, k["reduction"])
    c, r = avg(pc - rc, mc), avg(pr - rr, mr)
    h = (c - r) if k["h"] == "+" else (r - c)
    target = {"1/(2β)": 1 / (2 * beta), "1/β": 1 / beta, "β/2": beta / 2, "1/2": 0.5}[k["target"]]
    scaled = beta * h if k["beta_on_h"] == "times" else h
    scale = beta if k["rewards"] == "beta" else 1.0
    rewards = (masked_sum(pc - rc, mc), masked_sum(pr - rr, mr)) if k["rewards"] == "summed" else (c, r)
    return {"loss": over_batch((scaled - target) ** 2, k["batch"]),
            "chosen_rewards": beta * rewards[0] if k["rewards"] == "summed" else scale * rewards[0],
            "rejected_rewards": beta * rewards[1] if k["rewards"] == "summed" else scale * rewards[1]}


_WRONG_TARGET = "target 1/β or β/2 instead of 1/(2β)"
CONVENTIONS = Conventions(_formula, (
    reduction_knob("mean_clamped", "sum", "padded_mean", "nonzero_mean", "unmasked_mean", "unclamped_mean", "batch_count",
                   sum="log-ratios summed instead of averaged", unmasked_mean="mask not applied",
                   unclamped_mean="no clamp (NaN on an empty response)"),
    Knob("target", "1/(2β)", {"1/β": _WRONG_TARGET, "β/2": _WRONG_TARGET, "1/2": "target 1/2 instead of 1/(2β)"}),
    Knob("beta_on_h", "none", {"times": "(β·h - 1/(2β))² instead of (h - 1/(2β))²"}),
    sign_knob("h", "h reversed (rejected minus chosen)"),
    batch_knob(),
    Knob("rewards", "beta", {"summed": "rewards from summed log-ratios", "plain": "rewards without β"}),
))


# ---------------------------------------------------------------- behaviour
class IPOBehaviour(BetaSweep):
    """h and π(y_l) under the submission's IPO loss, for β = 0.1, 0.5 and 1.0 from the same start.

    Plain SGD on the toy converges h to 1/(2β) within about 25 steps at this learning rate;
    the last third of the run shows where it settled and that it stays there.
    """

    betas = (0.1, 0.5, 1.0)
    steps, lr = 60, 0.25

    def judge(self, data: dict[str, Any]) -> CheckResult:
        parts, problems, curves, judged, settled = [], [], [], {}, {}
        for beta, traj in data["runs"].items():
            h, lp = traj["h_mean"], traj["logp_rejected"]
            if not (finite(h) and finite(lp)):
                problems.append(f"β={beta}: training produced NaN or inf")
                continue
            target = 1 / (2 * float(beta))
            mid = 2 * len(lp) // 3
            p0, p_mid, p_end = math.exp(lp[0]), math.exp(lp[mid]), math.exp(lp[-1])
            parts.append(f"β={beta}: h → {h[-1]:.4g} (target {target:g}), π(y_l) {p0:.4f} → {p_end:.4f}")
            curves.append(series("h", h, β=float(beta)))
            curves.append(series("π(y_l)", [math.exp(x) for x in lp], β=float(beta)))
            judged[f"h_final_beta_{beta}"] = h[-1]
            judged[f"h_target_beta_{beta}"] = target
            judged[f"pi_rejected_two_thirds_beta_{beta}"] = p_mid
            judged[f"pi_rejected_final_beta_{beta}"] = p_end
            if abs(h[-1] - target) > IPO_TARGET_RTOL * target:
                problems.append(f"β={beta}: h ended at {h[-1]:.4g}, not at 1/(2β) = {target:g}")
            elif abs(lp[-1] - lp[mid]) > IPO_SETTLED_NATS:
                problems.append(f"β={beta}: π(y_l) was still moving at the end ({p_mid:.5f} → {p_end:.5f})")
            else:
                settled[float(beta)] = p_end
        order = sorted(settled)
        if not problems and any(settled[a] >= settled[b] for a, b in zip(order, order[1:])):
            problems.append("π(y_l) should settle higher for larger β (a smaller margin 1/(2β) to open), got "
                            + ", ".join(f"{settled[b]:.4f} at β={b:g}" for b in order))
        summary = "; ".join(parts) + f" (h: per-token mean log-ratio margin; π(y_l): per-token geometric mean; " \
                                     f"{self.steps} SGD steps, lr {self.lr:g})."
        found = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=found)
        return CheckResult("behaviour", "pass", summary + " h stops at the finite target 1/(2β) and π(y_l) stops "
                           "falling there, higher for larger β: unlike DPO, IPO's β sets where training ends.",
                           details=found)


SPEC = pairwise_spec("ipo_loss", REF_NAMES, (Param("beta", 0.1),), ("loss", "chosen_rewards", "rejected_rewards"),
                     make_cases, MODELS, IPOBehaviour(), detached=("chosen_rewards", "rejected_rewards"),
                     conventions=CONVENTIONS)
