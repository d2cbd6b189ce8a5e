"""orpo: seeded cases, the catalogued mistakes' models, row combination, and the behaviour run."""
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
from grader.checks.cases import Case, cast_mask, generator, response_mask, token_logps, with_layout
from grader.catalog.pairs import (POLICY_NAMES, layout_mask, masked_mean, masked_sum, pairwise_spec, policy_case,
                                  softplus_by_hand, tied)
from grader.catalog.pair_battery import batch_edges, longer_sides, strided, with_expanded_masks, with_zeros
from grader.checks.conventions import Conventions, Knob, reduce_tokens, reduction_knob


def extreme_odds_case(seed: int, salt: int, name: str, b: int, t: int, dtype: torch.dtype,
                      options: dict[str, Any]) -> Case:
    """Mean log-probs from just below 0 down to about -1000, in three kinds of rows (in turn):
    chosen memorised and rejected ruled out; the reverse; both ruled out, 50 nats apart."""
    g = generator(seed, salt)
    near_zero = lambda: -(0.001 + 0.019 * torch.rand(t, generator=g, dtype=torch.float64))  # m ≈ -0.01
    ruled_out = lambda shift=0.0: -(800 + shift + 200 * torch.rand(t, generator=g, dtype=torch.float64))  # m ≈ -900
    rows_c, rows_r = [], []
    for i in range(b):
        kind = i % 3
        rows_c.append(near_zero() if kind == 0 else ruled_out(0.0 if kind == 1 else -50.0))
        rows_r.append(ruled_out() if kind != 1 else near_zero())
    rows_c[0] = torch.full((t,), -0.001, dtype=torch.float64)  # the range's end: a mean of exactly -0.001
    pc, pr = torch.stack(rows_c).to(dtype), torch.stack(rows_r).to(dtype)
    mc = cast_mask(torch.ones(b, t), "float")
    mr = response_mask(g, b, t, "float", prompt_max=t // 4, min_response=t // 2)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, mc, mr)))
    note = f"B={b}, T={t}, {str(dtype)[6:]}, mean log-probs from -0.001 to -1000" + \
        "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, extreme=True, scale=10.0, note=note)


def logistic_band_case(name: str, options: dict[str, Any], t: int = 4) -> Case:
    """Rows whose log-odds gaps lo(m_c) - lo(m_r) are ±5.5, ±7, ±9 and ±11.5 (see pairs.LOGISTIC_BAND),
    every mean log-prob within the contract's range: each row's tokens share its mean, the lower
    one from -1 to -5 and the higher one placed by the gap (-0.0015 at the largest)."""
    low = torch.tensor([-5.0, -3.0, -2.0, -1.0], dtype=torch.float64)
    gap = torch.tensor([11.5, 9.0, 7.0, 5.5], dtype=torch.float64)
    log_odds = low - torch.log1p(-low.exp())
    high = F.logsigmoid(log_odds + gap)  # the mean log-prob whose log-odds sit `gap` above
    m_c, m_r = torch.cat([high, low]), torch.cat([low, high])  # the chosen above, then below
    pc, pr = m_c[:, None].expand(8, t).clone(), m_r[:, None].expand(8, t).clone()
    ones = cast_mask(torch.ones(8, t), "float")
    inputs = dict(zip(POLICY_NAMES, (pc, pr, ones, ones.clone())))
    note = f"B=8, T={t}, float64, log-odds gaps of ±5.5 to ±11.5" + "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def odds_band_case(name: str, options: dict[str, Any], t: int = 4) -> Case:
    """Pairs whose two mean log-probs sit close together in each band where code may take a
    shortcut for log(1 - e^m): near 0 (where 1 - e^m cancels), from -5 to -12 (where e^m looks
    negligible but is not at float64's tolerance) and from -12 down to -745 (where e^m
    underflows in float32, then in float64). The log-odds ratio of each pair is about ±1, so
    each row moves the loss and its gradient: a shortcut in any band shows."""
    pairs = torch.tensor([[-0.001, -0.002], [-0.004, -0.0025],  # near 0
                          [-5.5, -6.5], [-8.0, -7.0], [-11.5, -10.5],  # (-12, -5)
                          [-12.5, -13.5], [-80.0, -79.0], [-400.0, -401.0], [-741.0, -740.0]],  # (-750, -12)
                         dtype=torch.float64)
    b = len(pairs)
    pc, pr = pairs[:, :1].expand(b, t).clone(), pairs[:, 1:].expand(b, t).clone()
    ones = torch.ones(b, t, dtype=torch.float64)
    inputs = dict(zip(POLICY_NAMES, (pc, pr, ones, ones.clone())))
    note = f"B={b}, T={t}, float64, pairs of mean log-probs about 1 nat apart from -0.001 to -741" + \
        "".join(f", {k}={v}" for k, v in options.items())
    return Case(name, inputs, options, note=note)


def every_token_counted(case: Case) -> Case:
    """Both masks all ones: B·T response tokens, past 2048 at B = 257, so counts kept in float16
    (exact only to 2048) show."""
    for name in ("chosen_mask", "rejected_mask"):
        case.inputs[name].fill_(1)
    case.note += ", every token counted"
    return case


def masks_in_dtype(case: Case) -> Case:
    """A float mask in the log-probs' dtype, as the statement has it (float32 masks with
    float64 log-probs are out of range)."""
    for name in ("chosen_mask", "rejected_mask"):
        if case.inputs[name].is_floating_point():
            case.inputs[name] = case.inputs[name].to(case.dtype)
    return case


def make_cases(seed: int) -> list[Case]:
    return [masks_in_dtype(case) for case in _cases(seed)]


def _cases(seed: int) -> list[Case]:
    # λ != 1 everywhere, so that 'λ on the wrong term' always shows. Per-token log-probs stay
    # below -0.02 here: log1p(-exp(m)) in float32 is only accurate to about 6e-8 / |m|, and
    # mean log-probs near 0 belong to the stability cases, where the tolerance allows for it.
    top = 0.02
    return [
        policy_case(seed, 1, "padded", 4, 7, 5, torch.float32, "float", {}, top=top),
        policy_case(seed, 2, "float64, bool masks", 3, 6, 6, torch.float64, "bool", {"lam": 0.5}, top=top),
        with_layout(policy_case(seed, 3, "B=1, T=1", 1, 1, 1, torch.float32, "int", {"lam": 2.0}, layout="none",
                                top=top), "B=1, T=1", chosen_mask="uint8", rejected_mask="uint8"),
        policy_case(seed, 4, "tiny", 2, 3, 3, torch.float64, "float", {"lam": 0.25}, top=top),
        # Integer masks in other widths (any width is an int mask): int32 and int8.
        with_layout(policy_case(seed, 5, "", 4, 9, 8, torch.float32, "int", {"lam": 1.5}, layout="fixed", top=top),
                    "prompt and padding in every row", chosen_mask="int32",
                    rejected_mask="int8"),
        # The fixed battery: exact zeros (never a whole row), non-contiguous log-probs, expanded masks.
        with_zeros(policy_case(seed, 8, "exact zeros", 3, 6, 5, torch.float64, "float", {"lam": 0.5}, top=top)),
        strided(policy_case(seed, 9, "", 3, 6, 6, torch.float32, "float", {"lam": 0.3}, top=top),
                "non-contiguous log-probs"),
        with_expanded_masks(policy_case(seed, 10, "expanded masks", 3, 5, 4, torch.float64, "float", {"lam": 0.7},
                                        top=top)),
        extreme_odds_case(seed, 6, "mean log-probs to -1000, float64", 6, 32, torch.float64, {"lam": 0.5}),
        extreme_odds_case(seed, 7, "mean log-probs to -1000, float32", 6, 24, torch.float32, {}),
        logistic_band_case("log-odds gaps from 5.5 to 11.5 in size", {"lam": 0.5}),
        odds_band_case("mean log-probs in every band of log(1 - e^m)", {"lam": 0.5}),
        tied(policy_case(seed, 12, "equal mean log-probs", 3, 5, 5, torch.float64, "float", {"lam": 0.5}, top=top),
             {"policy_rejected_logps": "policy_chosen_logps", "rejected_mask": "chosen_mask"},
             "log odds ratio 0 in every row"),
        *longer_sides(seed, lambda *a: policy_case(*a, top=top), lam=0.5),
        # λ's end: the loss is the NLL alone, and or_loss is still what eq. 7 says.
        policy_case(seed, 35, "λ = 0", 3, 6, 5, torch.float64, "float", {"lam": 0.0}, top=top),
        # Real batches: B = 33 and responses over 256 tokens (past micro-batch and chunk sizes), multi-turn masks.
        *batch_edges(seed, lambda *a: policy_case(*a, top=top), lam=0.5),
        # 257 rows of 9 tokens, all counted: past micro-batches of 256 rows and float16's exact 2048.
        every_token_counted(policy_case(seed, 36, "B = 257", 257, 9, 9, torch.float32, "float", {"lam": 0.5},
                                        layout="none", top=top)),
    ]


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
