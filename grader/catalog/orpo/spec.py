"""orpo: the catalogued mistakes' models, row combination, and the behaviour run (the seeded cases
are in grader.catalog.orpo.cases)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.toy import finite, train_pair
from grader.checks.details import details, series
from grader.core.results import CheckResult
from grader.core.tolerances import BEHAVIOUR_RTOL, ORPO_MOVE_NATS, ORPO_ODDS_EXTRA_NATS
from grader.checks.function import Param
from grader.checks.cases import Case, generator, token_logps
from grader.catalog.orpo.cases import make_cases
from grader.catalog.pairs import POLICY_NAMES, layout_mask, masked_mean, masked_sum, pairwise_spec, softplus_by_hand
from grader.checks.conventions import Conventions, Knob, reduce_tokens, reduction_knob


# ---------------------------------------------------------------- the contract, in pieces
def log_odds(m: torch.Tensor) -> torch.Tensor:
    return m - torch.log(-torch.expm1(m))


def nll(pc: torch.Tensor, mc: torch.Tensor) -> torch.Tensor:
    m = mc.to(pc.dtype)
    return -(pc * m).sum() / m.sum()


def or_loss(pc, pr, mc, mr) -> torch.Tensor:
    return -F.logsigmoid(log_odds(masked_mean(pc, mc)) - log_odds(masked_mean(pr, mr))).mean()


def combine_rows(rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
    """The batch's outputs from each row's: nll_loss weighted by the row's response tokens,
    or_loss averaged, and loss = that nll + the mean of each row's λ·or_loss (= loss - nll)."""
    counts = case.inputs["chosen_mask"].to(torch.float64).sum(-1)  # [B]
    loss_b = torch.stack([r[0].to(torch.float64) for r in rows])
    nll_b = torch.stack([r[1].to(torch.float64) for r in rows])
    or_b = torch.stack([r[2].to(torch.float64) for r in rows])
    nll_ = (nll_b * counts).sum() / counts.sum()
    return [(nll_ + (loss_b - nll_b).mean()).to(case.dtype), nll_.to(case.dtype), or_b.mean().to(case.dtype)]


# ---------------------------------------------------------------- mistake models
def _probability_ratio(pc, pr, mc, mr, lam=0.1):
    o = -F.logsigmoid(masked_mean(pc, mc) - masked_mean(pr, mr)).mean()
    return {"loss": nll(pc, mc) + lam * o, "or_loss": o}


def _naive(pc, pr, mc, mr, lam=0.1):
    p_c, p_r = torch.exp(masked_mean(pc, mc)), torch.exp(masked_mean(pr, mr))
    odds_c, odds_r = p_c / (1 - p_c), p_r / (1 - p_r)
    out = []
    for ratio in (torch.log(odds_c / odds_r), torch.log(odds_c) - torch.log(odds_r)):
        o = -F.logsigmoid(ratio).mean()
        out.append({"loss": nll(pc, mc) + lam * o, "or_loss": o})
    return out


def _summed(pc, pr, mc, mr, lam=0.1):
    o = -F.logsigmoid(log_odds(masked_sum(pc, mc)) - log_odds(masked_sum(pr, mr))).mean()
    seq_nll = -masked_sum(pc, mc).mean()
    return [{"loss": nll(pc, mc) + lam * o, "or_loss": o},
            {"loss": seq_nll + lam * o, "nll_loss": seq_nll, "or_loss": o}]


def _per_sequence(pc, pr, mc, mr, lam=0.1):
    o = or_loss(pc, pr, mc, mr)
    return [{"loss": n + lam * o, "nll_loss": n} for n in (-masked_mean(pc, mc).mean(), -masked_sum(pc, mc).mean())]


def _nll_padded(pc, pr, mc, mr, lam=0.1):
    """Every position counted, or only the response's summed but divided by B·Tc."""
    o = or_loss(pc, pr, mc, mr)
    return [{"loss": n + lam * o, "nll_loss": n} for n in (-pc.mean(), -masked_sum(pc, mc).sum() / pc.numel())]


def _sign(pc, pr, mc, mr, lam=0.1):
    lo = log_odds(masked_mean(pc, mc)) - log_odds(masked_mean(pr, mr))
    n, o = nll(pc, mc), -F.logsigmoid(lo).mean()
    reversed_, positive = -F.logsigmoid(-lo).mean(), F.logsigmoid(lo).mean()
    return [{"loss": n + lam * reversed_, "or_loss": reversed_},
            {"loss": n + lam * positive, "or_loss": positive},
            {"loss": n - lam * o}]


def _softplus_by_hand(pc, pr, mc, mr, lam=0.1):
    lo = log_odds(masked_mean(pc, mc)) - log_odds(masked_mean(pr, mr))
    return [{"loss": nll(pc, mc) + lam * v.mean(), "or_loss": v.mean()} for v in softplus_by_hand(lo)]


def _log_sigmoid(pc, pr, mc, mr, lam=0.1):
    lo = log_odds(masked_mean(pc, mc)) - log_odds(masked_mean(pr, mr))
    o = -torch.log(torch.sigmoid(lo)).mean()
    return {"loss": nll(pc, mc) + lam * o, "or_loss": o}


def _per_token_odds(pc, pr, mc, mr, lam=0.1):
    """log odds of each token's probability, then averaged: not the odds of the mean."""
    o = -F.logsigmoid(masked_mean(log_odds(pc), mc) - masked_mean(log_odds(pr), mr)).mean()
    return {"loss": nll(pc, mc) + lam * o, "or_loss": o}


MODELS: dict[str, Callable[..., Any]] = {
    "max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie": _softplus_by_hand,
    "probabilities' ratio instead of odds": _probability_ratio,
    "naive p/(1-p) that overflows or underflows": _naive,
    "summed instead of averaged log-probs": _summed,
    "NLL missing": lambda pc, pr, mc, mr, lam=0.1:
        [{"loss": lam * or_loss(pc, pr, mc, mr)}, {"loss": or_loss(pc, pr, mc, mr)}],
    "NLL per-sequence instead of per-token": _per_sequence,
    "NLL over the prompt and padding": _nll_padded,
    "λ on the wrong term": lambda pc, pr, mc, mr, lam=0.1: {"loss": lam * nll(pc, mc) + or_loss(pc, pr, mc, mr)},
    "sign of the odds term": _sign,
    "log(sigmoid(x)) instead of logsigmoid": _log_sigmoid,
    "odds per token instead of from the mean log-prob": _per_token_odds,
}


def _formula(k, pc, pr, mc, mr, lam=0.1):
    """eq. 6 and 7 with their conventions as knobs (grader.checks.conventions)."""
    if k["odds"] == "per_token":
        lc, lr = reduce_tokens(log_odds(pc), mc, k["reduction"]), reduce_tokens(log_odds(pr), mr, k["reduction"])
    else:
        m_c, m_r = reduce_tokens(pc, mc, k["reduction"]), reduce_tokens(pr, mr, k["reduction"])
        lc, lr = (log_odds(m_c), log_odds(m_r)) if k["odds"] == "log_odds" else (m_c, m_r)
    o = -F.logsigmoid(lc - lr).mean()
    m = mc.to(pc.dtype)
    n = {"token": nll(pc, mc), "row_mean": -masked_mean(pc, mc).mean(), "padded": -(pc * m).sum() / pc.numel(),
         "nonzero": -(pc * m).sum() / ((pc * m) != 0).sum().clamp(min=1), "missing": torch.zeros((), dtype=pc.dtype)}[k["nll"]]
    loss = {"on_or": n + lam * o, "on_nll": lam * n + o, "missing": n + o}[k["lam"]]
    if k["or_sign"] == "-":
        loss = n - lam * o
    return {"loss": loss, "nll_loss": n, "or_loss": o}


CONVENTIONS = Conventions(_formula, (
    reduction_knob("mean", "sum", "padded_mean", "nonzero_mean", "batch_count", sum="summed instead of averaged log-probs"),
    Knob("odds", "log_odds", {"prob": "probabilities' ratio instead of odds",
                              "per_token": "odds per token instead of from the mean log-prob"}),
    Knob("nll", "token", {"row_mean": "NLL per-sequence instead of per-token", "padded": "NLL over the prompt and padding",
                          "nonzero": "NLL divided by the count of non-zero log-probs instead of the response tokens",
                          "missing": "NLL missing"}),
    Knob("lam", "on_or", {"on_nll": "λ on the wrong term", "missing": "λ missing (nll_loss + or_loss)"}),
    Knob("or_sign", "+", {"-": "sign of the odds term"}),
))


# ---------------------------------------------------------------- behaviour
class ORPOBehaviour:
    """λ = 0 against the token-weighted NLL, then the toy policy trained with λ = 0 and λ = 1."""

    lams = (0.0, 1.0)
    steps, lr = 80, 1.0

    @staticmethod
    def inputs(seed: int) -> tuple[torch.Tensor, ...]:
        g = generator(seed, 902)
        pc, pr = token_logps(g, 3, 8, torch.float64), token_logps(g, 3, 6, torch.float64)
        return pc, pr, layout_mask(3, 8), layout_mask(3, 6)

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        out = fn(*self.inputs(seed), lam=0.0)
        runs = {}
        for lam in self.lams:
            traj = train_pair(lambda pc, pr, rc, rr, mc, mr: fn(pc, pr, mc, mr, lam=lam)[0], self.steps, self.lr, seed)
            runs[str(lam)] = traj.to_dict()
        return {"seed": seed, "loss_lam0": float(out[0]), "nll_lam0": float(out[1]), "runs": runs}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        problems, curves, parts = [], [], []
        pc, pr, mc, mr = self.inputs(int(data["seed"]))
        want = float(nll(pc, mc))  # computed here, in the grader
        tokens = int(mc.sum())
        loss0, nll0 = data["loss_lam0"], data["nll_lam0"]
        judged = {"loss_lam_0": loss0, "nll_loss_lam_0": nll0, "nll_expected": want}
        parts.append(f"λ = 0: loss {loss0:.6f}, nll_loss {nll0:.6f}, token-weighted NLL over the {tokens} chosen "
                     f"response tokens {want:.6f}")
        tol = BEHAVIOUR_RTOL * max(1.0, abs(want))
        if not (abs(loss0 - want) <= tol and abs(nll0 - want) <= tol):
            problems.append(f"with λ = 0 the loss should be the token-weighted NLL alone ({want:.6f}), "
                            f"got loss {loss0:.6f} and nll_loss {nll0:.6f}")
        ends = {}
        for lam, traj in data["runs"].items():
            lc, lr_ = traj["logp_chosen"], traj["logp_rejected"]
            if not (finite(lc) and finite(lr_)):
                problems.append(f"λ={float(lam):g}: training produced NaN or inf")
                continue
            pw = [math.exp(x) for x in lc]
            pl = [math.exp(x) for x in lr_]
            curves.append(series("π(y_w)", pw, λ=float(lam)))
            curves.append(series("π(y_l)", pl, λ=float(lam)))
            judged[f"logp_chosen_start_lam_{float(lam):g}"], judged[f"logp_chosen_final_lam_{float(lam):g}"] = lc[0], lc[-1]
            judged[f"logp_rejected_start_lam_{float(lam):g}"], judged[f"logp_rejected_final_lam_{float(lam):g}"] = \
                lr_[0], lr_[-1]
            parts.append(f"λ={float(lam):g}: π(y_w) {pw[0]:.4f} → {pw[-1]:.4f}, π(y_l) {pl[0]:.4f} → {pl[-1]:.5f}")
            if not (lc[-1] > lc[0] + ORPO_MOVE_NATS and lr_[-1] < lr_[0] - ORPO_MOVE_NATS):
                problems.append(f"λ={float(lam):g}: training should raise π(y_w) and lower π(y_l) "
                                f"(π(y_w) {pw[0]:.4f} → {pw[-1]:.4f}, π(y_l) {pl[0]:.4f} → {pl[-1]:.5f})")
            ends[float(lam)] = lr_[-1]
        if not problems and not ends[1.0] < ends[0.0] - ORPO_ODDS_EXTRA_NATS:
            problems.append(f"the odds-ratio term should push π(y_l) further down than the NLL alone "
                            f"(λ=1: {math.exp(ends[1.0]):.5f}, λ=0: {math.exp(ends[0.0]):.5f})")
        summary = "; ".join(parts) + f" (π: per-token geometric mean on the toy policy, {self.steps} SGD steps, lr {self.lr:g})."
        found = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=found)
        return CheckResult("behaviour", "pass", summary + " The NLL alone already lowers π(y_l) here (both answers "
                           "share each position's softmax); the odds-ratio term lowers it further, in the same run "
                           "that fine-tunes on y_w, with no reference model.", details=found)


SPEC = pairwise_spec("orpo_loss", POLICY_NAMES, (Param("lam", 0.1),), ("loss", "nll_loss", "or_loss"),
                     make_cases, MODELS, ORPOBehaviour(), combine_rows=combine_rows, conventions=CONVENTIONS)
