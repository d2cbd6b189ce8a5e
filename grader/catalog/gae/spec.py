"""gae: the contract in pieces, the mistakes' models, the convention families, and SPEC (the
cases are in cases.py, the behaviour run in behaviour.py)."""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.gae.behaviour import ClosedFormBehaviour
from grader.catalog.gae.cases import make_cases
from grader.checks.conventions import Conventions, Knob
from grader.checks.function import FunctionSpec, Param


# ---------------------------------------------------------------- the contract, in pieces
def _next(x: torch.Tensor) -> torch.Tensor:
    """[B, T] -> [B, T]: x_{t+1}, and 0 after the last position."""
    return torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], 1)


def _backward(delta: torch.Tensor, carry: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """A_t = (δ_t + carry_t·A_{t+1})·out_t, from t = T-1 down (carry: γλ·m_{t+1}, or a mistake's)."""
    adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
    for t in reversed(range(delta.shape[1])):
        acc = (delta[:, t] + carry[:, t] * acc) * out[:, t]
        adv[:, t] = acc
    return adv


def _parts(rewards, values, mask):
    m = mask.to(rewards.dtype)
    return rewards.detach() * m, values.detach() * m, m


def advantages_of(rewards, values, mask, gamma=1.0, lam=0.95) -> torch.Tensor:
    r, v, m = _parts(rewards, values, mask)
    delta = r + gamma * _next(v) * _next(m) - v
    return _backward(delta, gamma * lam * _next(m), m)


# ---------------------------------------------------------------- mistake models
def _forward(rewards, values, mask, gamma=1.0, lam=0.95):
    r, v, m = _parts(rewards, values, mask)
    delta = r + gamma * _next(v) * _next(m) - v
    adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
    for t in range(delta.shape[1]):
        acc = (delta[:, t] + gamma * lam * acc) * m[:, t]
        adv[:, t] = acc
    return {"advantages": adv, "returns": (adv + v) * m}


def _rescaled_cumsum(rewards, values, mask, gamma=1.0, lam=0.95):
    """A_t = (γλ)^-t · Σ_{k>=t} (γλ)^k δ_k as a reversed cumsum: (γλ)^t underflows on long rows."""
    r, v, m = _parts(rewards, values, mask)
    delta = (r + gamma * _next(v) * _next(m) - v) * m
    t = torch.arange(delta.shape[1], dtype=delta.dtype)
    w = (gamma * lam) ** t  # [T]
    tail = torch.flip(torch.cumsum(torch.flip(delta * w, [1]), 1), [1])  # [B, T]
    out = []
    for adv in (tail / w * m, tail * (gamma * lam) ** -t * m):
        out.append({"advantages": adv, "returns": (adv + v) * m})
    return out


def _with_delta(delta_of: Callable[..., torch.Tensor]) -> Callable[..., Any]:
    """A model whose only slip is in δ_t; the recursion and the masking are the contract's."""
    def model(rewards, values, mask, gamma=1.0, lam=0.95):
        r, v, m = _parts(rewards, values, mask)
        adv = _backward(delta_of(r, v, m, values.detach(), gamma, lam), gamma * lam * _next(m), m)
        return {"advantages": adv, "returns": (adv + v) * m}
    return model


def _mask_ignored(rewards, values, mask, gamma=1.0, lam=0.95):
    """Nothing masked; or the recursion unmasked and only the outputs masked at the end."""
    r, v = rewards.detach(), values.detach()
    m = mask.to(r.dtype)
    ones = torch.ones_like(r)
    adv = _backward(r + gamma * _next(v) - v, gamma * lam * ones, ones)
    return [{"advantages": adv, "returns": adv + v}, {"advantages": adv * m, "returns": (adv + v) * m}]


def _reward_to_go(rewards, values, mask, gamma=1.0, lam=0.95):
    r, _, m = _parts(rewards, values, mask)
    return {"returns": _backward(r, gamma * torch.ones_like(r), m)}


def _whitened(rewards, values, mask, gamma=1.0, lam=0.95):
    """Normalised over the batch's response tokens, as TRL's PPO trainer does (Bessel or not)."""
    adv = advantages_of(rewards, values, mask, gamma, lam)
    m = mask.to(adv.dtype)
    n = m.sum()
    mean = (adv * m).sum() / n
    var = ((adv - mean) ** 2 * m).sum() / n
    out = []
    for variance in (var * n / (n - 1), var):
        out.append({"advantages": (adv - mean) * torch.rsqrt(variance + 1e-8) * m})
        out.append({"advantages": (adv - mean) / (variance.sqrt() + 1e-8) * m})
    return out


MODELS: dict[str, Callable[..., Any]] = {
    "forward instead of backward recursion": _forward,
    "γ·λ applied to δ's value term": _with_delta(lambda r, v, m, raw, g, l: r + g * l * _next(v) * _next(m) - v),
    "no bootstrap (V_{t+1} missing)": _with_delta(lambda r, v, m, raw, g, l: r - v),
    "the value after the last token taken from padding": _with_delta(lambda r, v, m, raw, g, l: r + g * _next(raw) - v),
    "mask ignored (garbage padding leaks)": _mask_ignored,
    "returns as the discounted reward-to-go": _reward_to_go,
    "returns not masked (padding keeps the values)":
        lambda rewards, values, mask, gamma=1.0, lam=0.95:
        {"returns": advantages_of(rewards, values, mask, gamma, lam) + values.detach()},
    "advantages whitened": _whitened,
    "(γλ)^−t rescaled cumsum": _rescaled_cumsum,
}


# ---------------------------------------------------------------- conventions (grader.checks.conventions)
def _formula(k, rewards, values, mask, gamma=1.0, lam=0.95):
    """Eq. 16 over right-padded rows; each knob `k[name]` picks one convention."""
    m = mask.to(rewards.dtype)
    if k["mask"] == "applied":
        r, v, keep = rewards * m, values * m, m
    else:  # nothing masked: padding's rewards and values flow into the response's last token
        r, v, keep = rewards, values, torch.ones_like(m)
    nxt = {"masked": _next(v) * _next(keep), "padding": _next(values), "none": torch.zeros_like(v)}
    gl = {"γλ": gamma * lam, "γ": gamma, "λ": lam}[k["carry"]]
    delta = r + {"γ": gamma, "γλ": gamma * lam, "1": 1.0}[k["bootstrap_scale"]] * nxt[k["bootstrap"]] - v  # [B, T]
    carry = gl * _next(keep)
    if k["direction"] == "backward":
        adv = _backward(delta, carry, keep)
    else:  # A_t = δ_t + γλ·A_{t-1}
        adv, acc = torch.zeros_like(delta), torch.zeros_like(delta[:, 0])
        for t in range(delta.shape[1]):
            acc = (delta[:, t] + gl * acc) * keep[:, t]
            adv[:, t] = acc
    if k["mask"] == "outputs":
        adv = adv * m
    returns = {"A+V": lambda: (adv + v) * m, "unmasked": lambda: adv + values,
               "reward_to_go": lambda: _backward(rewards * m, gamma * torch.ones_like(m), m),
               "one_step": lambda: (delta + v) * m}[k["returns"]]()
    if k["whiten"] != "none":
        n = m.sum()
        mean = (adv * m).sum() / n
        var = ((adv - mean) ** 2 * m).sum() / (n - 1 if k["whiten"] == "bessel" else n)
        adv = (adv - mean) / (var.sqrt() + 1e-8) * m
    return {"advantages": adv, "returns": returns}


_MASK, _WHITENED = "mask ignored (garbage padding leaks)", "advantages whitened"
CONVENTIONS = Conventions(_formula, (
    Knob("direction", "backward", {"forward": "forward instead of backward recursion"}),
    Knob("bootstrap", "masked", {"none": "no bootstrap (V_{t+1} missing)",
                                 "padding": "the value after the last token taken from padding"}),
    Knob("bootstrap_scale", "γ", {"γλ": "γ·λ applied to δ's value term",
                                  "1": "γ missing from δ's bootstrap term: r_t + V_{t+1} - V_t"}),
    Knob("carry", "γλ", {"γ": "A_{t+1} carried by γ instead of γ·λ (λ missing)",
                         "λ": "A_{t+1} carried by λ instead of γ·λ (γ missing)"}),
    Knob("mask", "applied", {"ignored": _MASK, "outputs": _MASK}),
    Knob("returns", "A+V", {"reward_to_go": "returns as the discounted reward-to-go",
                            "unmasked": "returns not masked (padding keeps the values)",
                            "one_step": "returns as the one-step target r_t + γ·V_{t+1} instead of A_t + V_t"}),
    Knob("whiten", "none", {"bessel": _WHITENED, "population": _WHITENED}),
))


SPEC = FunctionSpec(
    function="gae",
    params=(Param("rewards"), Param("values"), Param("mask"), Param("gamma", 1.0), Param("lam", 0.95)),
    outputs=("advantages", "returns"),
    grad_inputs=(),
    constants=("rewards", "values"),
    make_cases=make_cases,
    detached=("advantages", "returns"),
    models=MODELS,
    behaviour=ClosedFormBehaviour(),
    conventions=CONVENTIONS,
)
