"""simpo: seeded cases, the catalogued mistakes' models, and the behaviour run."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from grader.catalog.toy import finite, train_pair
from grader.checks.details import details, series
from grader.core.results import CheckResult
from grader.core.tolerances import BEHAVIOUR_RTOL
from grader.checks.function import Param
from grader.checks.cases import Case, generator, token_logps, on_grid
from grader.catalog.pairs import (LOGISTIC_BAND, POLICY_NAMES, extreme_policy_case, layout_mask, masked_mean,
                                  masked_sum, pairwise_spec, policy_case, shift_rows, softplus_by_hand)
from grader.catalog.pair_battery import (batch_edges, longer_sides, strided, tall_batch, with_expanded_masks,
                                         with_far_padding, with_zeros)
from grader.checks.conventions import (Conventions, Knob, batch_knob, over_batch, reduce_tokens, reduction_knob,
                                       sign_knob)

def make_cases(seed: int) -> list[Case]:
    # β != 1 and γ != 0 everywhere but one case each, so that 'margin multiplied by β' and 'margin
    # added' always show.
    return [
        policy_case(seed, 1, "padded", 4, 7, 5, torch.float32, "float", {}),
        policy_case(seed, 2, "float64, bool masks", 3, 6, 6, torch.float64, "bool", {"beta": 2.5, "gamma": 1.0}),
        policy_case(seed, 3, "B=1, T=1", 1, 1, 1, torch.float32, "int32", {"beta": 10.0, "gamma": 0.3}, layout="none"),
        policy_case(seed, 4, "tiny, int64 masks", 2, 3, 3, torch.float64, "int", {"beta": 1.5, "gamma": 0.8}),
        policy_case(seed, 16, "no margin (gamma = 0)", 3, 4, 5, torch.float64, "float", {"beta": 2.5, "gamma": 0.0}),
        # β's range: small (z is nearly -γ, the rewards' gradient 1/100 of β = 1's) and exactly 1,
        # where code may skip the multiplication.
        policy_case(seed, 17, "small β", 3, 5, 4, torch.float32, "float", {"beta": 0.01, "gamma": 0.3}),
        policy_case(seed, 18, "β = 1", 3, 4, 6, torch.float64, "int16", {"beta": 1.0, "gamma": 1.2}),
        # Padding down to the statement's -1e38 (0 · -1e38 is 0; code that sums the padding and takes
        # it away again, or exponentiates every position, shows), in float32 here and float64 below.
        with_far_padding(policy_case(seed, 5, "prompt and padding in every row", 4, 9, 8, torch.float32, "int8",
                                     {"gamma": 1.2}, layout="fixed")),
        # The fixed battery: exact zeros, non-contiguous log-probs, expanded masks.
        with_zeros(policy_case(seed, 8, "exact zeros", 3, 6, 5, torch.float64, "float", {"beta": 2.5, "gamma": 1.0})),
        strided(policy_case(seed, 9, "", 3, 6, 6, torch.float32, "float", {"beta": 1.5, "gamma": 0.8}),
                "non-contiguous log-probs"),
        with_far_padding(with_expanded_masks(policy_case(seed, 10, "expanded masks", 3, 5, 4, torch.float64, "float",
                                                         {"beta": 2.5, "gamma": 0.7}))),
        extreme_policy_case(seed, 6, "rewards 1000 apart, float64", 4, 32, torch.float64, {"beta": 10.0}),
        extreme_policy_case(seed, 7, "rewards 250 apart, float32", 4, 24, torch.float32, {"beta": 2.5}),
        _in_logistic_band(policy_case(seed, 11, "β·Δ - γ from 5.5 to 12 in size", 8, 4, 5, torch.float64, "float",
                                      {"beta": 2.5, "gamma": 0.8})),
        _gamma_apart(policy_case(seed, 12, "rewards exactly γ apart", 3, 4, 4, torch.float64, "float",
                                 {"beta": 2.0, "gamma": 1.0}, layout="none")),
        *longer_sides(seed, policy_case, beta=2.0, gamma=0.5),
        # Real batches: B = 33 and responses over 256 tokens (past micro-batch and chunk sizes), multi-turn masks.
        *batch_edges(seed, policy_case, beta=2.5, gamma=0.8),
        tall_batch(seed, policy_case, beta=2.5, gamma=0.8),
    ]


def _gamma_apart(case: Case) -> Case:
    """β·(m_c - m_r) - γ exactly 0 in every row, however it is computed: log-probs on a grid of
    1/8, every token a response token (T = 4), the rejected 0.5 below the chosen, β = 2, γ = 1."""
    x = case.inputs
    pc = on_grid(x["policy_chosen_logps"], 8)
    x["policy_chosen_logps"], x["policy_rejected_logps"] = pc, pc - 0.5
    x["chosen_mask"], x["rejected_mask"] = torch.ones_like(pc), torch.ones_like(pc)
    case.note += ", β·(m_c - m_r) - γ = 0 in every row"
    return case


def _in_logistic_band(case: Case) -> Case:
    """Rows whose β·Δ - γ are LOGISTIC_BAND: the rejected log-probs lowered to raise Δ, the chosen
    to lower it (a row's mean moves by what each of its tokens moves)."""
    x, beta, gamma = case.inputs, case.options["beta"], case.options["gamma"]
    delta = _delta(*(x[n].to(torch.float64) for n in POLICY_NAMES))
    want = (torch.tensor(LOGISTIC_BAND, dtype=torch.float64) + gamma) / beta
    return shift_rows(case, delta, want, up=("policy_rejected_logps", "rejected_mask"),
                      down=("policy_chosen_logps", "chosen_mask"), per_token=True)


# ---------------------------------------------------------------- mistake models
def _delta(pc, pr, mc, mr):
    return masked_mean(pc, mc) - masked_mean(pr, mr)


def _padded_length(pc, pr, mc, mr, beta=2.0, gamma=0.5):
    delta = masked_sum(pc, mc) / pc.shape[-1] - masked_sum(pr, mr) / pr.shape[-1]
    return {"loss": -F.logsigmoid(beta * delta - gamma).mean()}


def _margin_over_beta(*a, beta=2.0, gamma=0.5):
    return {"loss": -F.logsigmoid(beta * _delta(*a) - gamma / beta).mean()}


MODELS: dict[str, Callable[..., Any]] = {
    "max(-x, 0) + log1p(exp(-|x|)) by hand: wrong gradient at a tie": lambda pc, pr, mc, mr, beta=2.0, gamma=0.5:
        [{"loss": v.mean()} for v in softplus_by_hand(beta * _delta(pc, pr, mc, mr) - gamma)],
    "no length normalisation": lambda pc, pr, mc, mr, beta=2.0, gamma=0.5:
        {"loss": -F.logsigmoid(beta * (masked_sum(pc, mc) - masked_sum(pr, mr)) - gamma).mean()},
    "margin added instead of subtracted": lambda *a, beta=2.0, gamma=0.5:
        {"loss": -F.logsigmoid(beta * _delta(*a) + gamma).mean()},
    "margin multiplied by β": lambda *a, beta=2.0, gamma=0.5:
        {"loss": -F.logsigmoid(beta * (_delta(*a) - gamma)).mean()},
    "mean over the padded length": _padded_length,
    "log(sigmoid(x)) instead of logsigmoid": lambda *a, beta=2.0, gamma=0.5:
        {"loss": -torch.log(torch.sigmoid(beta * _delta(*a) - gamma)).mean()},
    "γ/β subtracted instead of γ (β·Δ - γ/β)": _margin_over_beta,
}


def _formula(k, pc, pr, mc, mr, beta=2.0, gamma=0.5):
    """eq. 6 with its conventions as knobs (grader.checks.conventions)."""
    c, r = reduce_tokens(pc, mc, k["reduction"]), reduce_tokens(pr, mr, k["reduction"])
    d = (c - r) if k["delta"] == "+" else (r - c)
    z = {"-γ": beta * d - gamma, "+γ": beta * d + gamma, "β(Δ-γ)": beta * (d - gamma),
         "-γ/β": beta * d - gamma / beta, "none": beta * d}[k["margin"]]
    scale = beta if k["rewards"] == "beta" else 1.0
    return {"loss": over_batch(-F.logsigmoid(z), k["batch"]), "chosen_rewards": scale * c, "rejected_rewards": scale * r}


CONVENTIONS = Conventions(_formula, (
    reduction_knob("mean", "sum", "padded_mean", "nonzero_mean", "unmasked_mean", "batch_count",
                   sum="no length normalisation", padded_mean="mean over the padded length",
                   unmasked_mean="mask not applied (mean over every position)"),
    Knob("margin", "-γ", {"+γ": "margin added instead of subtracted", "β(Δ-γ)": "margin multiplied by β",
                          "-γ/β": "γ/β subtracted instead of γ (β·Δ - γ/β)", "none": "margin γ missing"}),
    sign_knob("delta", "Δ reversed (rejected minus chosen)"),
    batch_knob(),
    Knob("rewards", "beta", {"plain": "rewards without β (the mean log-probs themselves)"}),
))


# ---------------------------------------------------------------- behaviour
class SimPOBehaviour:
    """Three properties of the submission's SimPO loss, each shown on its own numbers:
    invariance to repeating tokens, log 2 at the margin, and training with no reference model."""

    beta, gamma = 2.0, 0.5
    margin_settings = ((2.0, 0.5), (10.0, 3.0))
    repeats = (3, 2)  # every chosen token 3 times, every rejected token twice
    steps, lr = 60, 2.0

    @staticmethod
    def inputs(seed: int) -> tuple[torch.Tensor, ...]:
        g = generator(seed, 901)
        pc, pr = token_logps(g, 3, 6, torch.float64), token_logps(g, 3, 5, torch.float64)
        return pc, pr, layout_mask(3, 6).double(), layout_mask(3, 5).double()  # float masks in the log-probs' dtype

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        pc, pr, mc, mr = self.inputs(seed)
        kc, kr = self.repeats
        plain = fn(pc, pr, mc, mr, beta=self.beta, gamma=self.gamma)[0]
        repeated = fn(pc.repeat_interleave(kc, 1), pr.repeat_interleave(kr, 1),
                      mc.repeat_interleave(kc, 1), mr.repeat_interleave(kr, 1), beta=self.beta, gamma=self.gamma)[0]
        at_margin = []
        for beta, gamma in self.margin_settings:
            # Lower one side (log-probs stay <= 0) until the mean log-probs differ by exactly γ/β.
            excess = _delta(pc, pr, mc, mr) - gamma / beta  # [B]
            c = pc - excess.clamp(min=0).unsqueeze(1)
            r = pr + excess.clamp(max=0).unsqueeze(1)
            at_margin.append(float(fn(c, r, mc, mr, beta=beta, gamma=gamma)[0]))
        traj = train_pair(lambda pc, pr, rc, rr, mc, mr: fn(pc, pr, mc, mr, beta=self.beta, gamma=self.gamma)[0],
                          self.steps, self.lr, seed)
        return {"plain": float(plain), "repeated": float(repeated), "at_margin": at_margin, "train": traj.to_dict()}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        problems, curves = [], []
        plain, repeated = data["plain"], data["repeated"]
        judged = {"loss": plain, "loss_tokens_repeated": repeated}
        judged.update({f"loss_at_margin_beta_{b:g}_gamma_{g:g}": v for v, (b, g) in zip(data["at_margin"], self.margin_settings)})
        kc, kr = self.repeats
        rep = (f"loss {plain:.6f} on a batch of 3 pairs, {repeated:.6f} with every chosen token repeated {kc}× "
               f"and every rejected token {kr}×")
        if not (math.isfinite(plain) and abs(repeated - plain) <= BEHAVIOUR_RTOL * max(1.0, abs(plain))):
            problems.append(f"repeating tokens changed the loss ({plain:.6f} → {repeated:.6f}): the reward must be "
                            "the per-token mean log-prob, which repetition leaves as it is")
        log2 = math.log(2)
        margin = ", ".join(f"{v:.6f} (β={b:g}, γ={g:g})" for v, (b, g) in zip(data["at_margin"], self.margin_settings))
        margin = f"at β·(m_c - m_r) = γ: {margin}, log 2 = {log2:.6f}"
        if not all(abs(v - log2) <= BEHAVIOUR_RTOL for v in data["at_margin"]):
            problems.append("where β·(m_c - m_r) equals γ the loss should be -log σ(0) = log 2")
        traj = data["train"]
        lc, lr_ = traj["logp_chosen"], traj["logp_rejected"]
        if not (finite(lc) and finite(lr_)):
            problems.append("training the toy policy produced NaN or inf")
            train = "training produced NaN or inf"
        else:
            gap = [self.beta * (c - r) for c, r in zip(lc, lr_)]
            curves += [series("β·(m_c - m_r)", gap), series("m_c", lc), series("m_r", lr_)]
            judged["margin_start"], judged["margin_final"] = gap[0], gap[-1]
            train = (f"trained {self.steps} steps with no reference model: m_c {lc[0]:.3f} → {lc[-1]:.3f}, "
                     f"m_r {lr_[0]:.3f} → {lr_[-1]:.3f}, β·(m_c - m_r) {gap[0]:.3f} → {gap[-1]:.3f}")
            if not (gap[-1] > self.gamma and gap[-1] - gap[0] > self.gamma):
                problems.append(f"training did not lift the chosen answer above the rejected one by the margin γ = "
                                f"{self.gamma:g} (β·(m_c - m_r) {gap[0]:.3f} → {gap[-1]:.3f})")
        summary = f"{rep}; {margin}; {train} (m: per-token mean log-prob on the toy policy)."
        found = details(curves, **judged)
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=found)
        return CheckResult("behaviour", "pass", summary + " Length-normalised rewards ignore how many tokens say the "
                           "same thing, γ is the margin where the loss is log 2, and the policy's own average "
                           "log-likelihood is the only reward: no reference model was needed.", details=found)


SPEC = pairwise_spec("simpo_loss", POLICY_NAMES, (Param("beta", 2.0), Param("gamma", 0.5)),
                     ("loss", "chosen_rewards", "rejected_rewards"), make_cases, MODELS, SimPOBehaviour(),
                     detached=("chosen_rewards", "rejected_rewards"), conventions=CONVENTIONS)
