"""gae: a fixed battery of cases, seeded cases, the mistakes' models, and the behaviour run.

Padding positions hold garbage: finite numbers of up to ±50 (±1e4 in one case), as a critic's
output on pad tokens would be, so every mistake that lets padding reach a response token
changes the result by far more than any tolerance. Rewards and values are passed with
requires_grad (as `constants`), so that outputs left with a graph show in `rewards_detached`.
The long rows (T = 512) are where a (γλ)^-t rescaling underflows: γλ = 0.7425 in float32
(0.7425^t leaves float32's normal range near t = 290) and γλ = 0.225 in float64 (near t = 470).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.cases import Case, cast_mask, generator
from grader.checks.details import details, series
from grader.checks.function import FunctionSpec, Param
from grader.core.results import CheckResult
from grader.core.tolerances import GAE_BEHAVIOUR_ATOL, GAE_BEHAVIOUR_RTOL

NAMES = ("rewards", "values", "mask")


def lengths_mask(lengths: list[int], t: int) -> torch.Tensor:
    """[B, T] right-padded mask: ones for each row's length, then zeros."""
    return (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).float()


def gae_case(seed: int, salt: int, name: str, lengths: list[int] | None, b: int, t: int, dtype: torch.dtype,
             mask: str, options: dict[str, Any], sparse: bool = False, garbage: float = 50.0,
             extreme: bool = False, remark: str = "") -> Case:
    """Rewards and values of about 1 on response tokens, garbage at padding.

    lengths: each row's response length (None: drawn in 1..T, the first row full); sparse: every
    reward is exactly 0 but the last token's (an RLHF score), and a third of the values are 0.
    """
    g = generator(seed, salt)
    if lengths is None:
        lengths = [t] + [int(x) for x in torch.randint(1, t + 1, (b - 1,), generator=g)]
    m = lengths_mask(lengths, t).to(torch.float64)  # [B, T]
    rewards = torch.randn(b, t, generator=g, dtype=torch.float64)
    values = torch.randn(b, t, generator=g, dtype=torch.float64)
    if sparse:
        last = torch.zeros(b, t, dtype=torch.float64)
        for row, n in enumerate(lengths):
            if n:
                last[row, n - 1] = 1.0
        rewards = rewards * last
        values = torch.where(torch.rand(b, t, generator=g) < 1 / 3, torch.zeros_like(values), values)
    junk = lambda: garbage * (2 * torch.rand(b, t, generator=g, dtype=torch.float64) - 1)
    rewards = torch.where(m.bool(), rewards, junk()).to(dtype)
    values = torch.where(m.bool(), values, junk()).to(dtype)
    upstream = torch.randn(b, t, generator=g, dtype=torch.float64).to(dtype)
    opts = "".join(f", {k}={v}" for k, v in options.items()) or ", default γ and λ"
    note = f"B={b}, T={t}, {str(dtype)[6:]}, {mask} mask, lengths {_lengths(lengths)}{opts}" + \
        (f"; {remark}" if remark else "")
    return Case(name, {"rewards": rewards, "values": values, "mask": cast_mask(m.float(), mask)}, options,
                extreme=extreme, upstream=upstream, note=note)


def _lengths(lengths: list[int]) -> str:
    return str(lengths) if len(lengths) <= 6 else f"{lengths[:5]}..."


def layout_case(seed: int, salt: int, dtype: torch.dtype) -> Case:
    """Non-contiguous inputs: rewards a slice x[:, :-1] of a wider x, values a transposed view,
    the mask a slice too."""
    case = gae_case(seed, salt, "non-contiguous", [6, 4, 1], 3, 6, dtype, "float", {"gamma": 0.9, "lam": 0.8},
                    remark="rewards = x[:, :-1], values a transposed view, mask = m[:, 1:]")
    b, t = case.inputs["rewards"].shape
    wide = torch.zeros(b, t + 1, dtype=dtype)
    wide[:, :-1] = case.inputs["rewards"]
    case.inputs["rewards"] = wide[:, :-1]
    case.inputs["values"] = case.inputs["values"].t().contiguous().t()
    shifted = torch.zeros(b, t + 1, dtype=case.inputs["mask"].dtype)
    shifted[:, 1:] = case.inputs["mask"]
    case.inputs["mask"] = shifted[:, 1:]
    return case


def expanded_case(seed: int, salt: int, dtype: torch.dtype) -> Case:
    """One mask row expanded to the batch (stride 0): every response has the same length."""
    b, t = 4, 7
    case = gae_case(seed, salt, "expanded mask", [5] * b, b, t, dtype, "bool", {"lam": 0.9},
                    remark="mask = row.expand(B, T)")
    case.inputs["mask"] = case.inputs["mask"][:1].expand(b, t)
    return case


def make_cases(seed: int) -> list[Case]:
    f32, f64 = torch.float32, torch.float64
    return [
        # Seeded cases; case 0 is graded row by row.
        gae_case(seed, 1, "padded", None, 4, 7, f32, "float", {}),
        gae_case(seed, 2, "float64, bool mask", None, 3, 6, f64, "bool", {"gamma": 0.99, "lam": 0.9}),
        gae_case(seed, 3, "int mask", None, 5, 9, f32, "int", {"gamma": 0.9, "lam": 0.5}),
        gae_case(seed, 4, "longer, float64", None, 2, 12, f64, "float", {"gamma": 0.95, "lam": 0.8}),
        # The fixed battery: every seed, whatever the draw.
        gae_case(seed, 5, "B=1, T=1", [1], 1, 1, f64, "float", {}),
        gae_case(seed, 6, "B=1, T=1, empty", [0], 1, 1, f32, "int", {"gamma": 0.9}),
        gae_case(seed, 7, "an empty row", [5, 0, 2], 3, 5, f64, "bool", {"gamma": 0.9, "lam": 0.7}),
        gae_case(seed, 8, "sparse rewards", [6, 3, 1, 0], 4, 6, f32, "int", {"gamma": 0.99, "lam": 0.95},
                 sparse=True, remark="rewards exactly 0 but at the last token, a third of the values 0"),
        layout_case(seed, 9, f64),
        expanded_case(seed, 10, f32),
        gae_case(seed, 11, "λ = 0", [4, 2], 2, 4, f64, "float", {"gamma": 0.9, "lam": 0.0}),
        gae_case(seed, 12, "λ = γ = 1", [5, 3], 2, 5, f32, "float", {"gamma": 1.0, "lam": 1.0}),
        gae_case(seed, 13, "γ = 0", [3, 1], 2, 3, f64, "bool", {"gamma": 0.0, "lam": 0.95}),
        gae_case(seed, 14, "large garbage", [3, 6, 1], 3, 6, f32, "float", {"gamma": 0.97, "lam": 0.9},
                 garbage=1e4, remark="padding holds up to ±1e4"),
        gae_case(seed, 15, "T=512, float32", [512, 400, 301], 3, 512, f32, "float",
                 {"gamma": 0.99, "lam": 0.75}, extreme=True, remark="γλ = 0.7425"),
        gae_case(seed, 16, "T=512, float64", [512, 505], 2, 512, f64, "int", {"gamma": 0.9, "lam": 0.25},
                 extreme=True, remark="γλ = 0.225"),
        gae_case(seed, 17, "T=512, defaults", [512, 257], 2, 512, f32, "bool", {}, extreme=True),
    ]


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


# ---------------------------------------------------------------- behaviour
class ClosedFormBehaviour:
    """The user's gae against closed forms computed here, on float64 rows of lengths 8, 5 and 3:
    λ = 0 gives the TD errors; λ = γ = 1 gives reward-to-go minus V; returns - values =
    advantages; appending garbage padding changes nothing; with V = 0 and one reward r at a
    row's last token, A_t = (γλ)^(L-1-t)·r."""

    lengths = [8, 5, 3]
    gamma, lam = 0.9, 0.8
    reward = 1.5
    extra = 4  # padding columns appended

    def inputs(self, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        g = generator(seed, 960)
        t = max(self.lengths)
        m = lengths_mask(self.lengths, t).to(torch.float64)
        junk = lambda: 30 * torch.randn(len(self.lengths), t, generator=g, dtype=torch.float64)
        r = torch.where(m.bool(), torch.randn(len(self.lengths), t, generator=g, dtype=torch.float64), junk())
        v = torch.where(m.bool(), torch.randn(len(self.lengths), t, generator=g, dtype=torch.float64), junk())
        return r, v, m

    def single_reward(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = max(self.lengths)
        m = lengths_mask(self.lengths, t).to(torch.float64)
        r = torch.zeros(len(self.lengths), t, dtype=torch.float64)
        for row, n in enumerate(self.lengths):
            r[row, n - 1] = self.reward
        return r, torch.zeros_like(r), m

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        r, v, m = self.inputs(seed)
        g = generator(seed, 961)
        b = r.shape[0]
        pad = lambda x: torch.cat([x, 30 * torch.randn(b, self.extra, generator=g, dtype=torch.float64)], 1)
        calls = {
            "td": ((r, v, m), {"gamma": self.gamma, "lam": 0.0}),
            "mc": ((r, v, m), {"gamma": 1.0, "lam": 1.0}),
            "default": ((r, v, m), {}),
            "padded": ((pad(r), pad(v), torch.cat([m, torch.zeros(b, self.extra, dtype=m.dtype)], 1)), {}),
            "single": (self.single_reward(), {"gamma": self.gamma, "lam": self.lam}),
        }
        out = {}
        with torch.no_grad():
            for name, (args, kw) in calls.items():
                adv, ret = fn(*(a.clone() for a in args), **kw)[:2]
                out[name] = [torch.as_tensor(x).detach().to(torch.float64).tolist() for x in (adv, ret)]
        return {"seed": seed, "outputs": out}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        r, v, m = self.inputs(int(data["seed"]))
        b, t = r.shape
        got = {}
        for name, pair in data["outputs"].items():
            try:
                got[name] = [torch.tensor(x, dtype=torch.float64) for x in pair]
            except (TypeError, ValueError):
                return CheckResult("behaviour", "fail", f"the outputs of the '{name}' call are not [B, T] tensors.")
        want_t = t + self.extra
        for name, (adv, ret) in got.items():
            shape = [b, want_t] if name == "padded" else [b, t]
            if list(adv.shape) != shape or list(ret.shape) != shape:
                return CheckResult("behaviour", "fail", f"the '{name}' call returned shapes {list(adv.shape)} and "
                                   f"{list(ret.shape)}, not {shape}.")
        resp = m.bool()
        rm, vm = r * m, v * m
        nxt_v = torch.cat([vm[:, 1:], torch.zeros(b, 1, dtype=vm.dtype)], 1)
        nxt_m = torch.cat([m[:, 1:], torch.zeros(b, 1, dtype=m.dtype)], 1)
        td = (rm + self.gamma * nxt_v * nxt_m - vm) * m
        rtg = torch.flip(torch.cumsum(torch.flip(rm, [1]), 1), [1]) * m  # γ = 1
        steps = (torch.tensor(self.lengths).unsqueeze(1) - 1 - torch.arange(t)).clamp(min=0).to(torch.float64)
        single = (self.gamma * self.lam) ** steps * self.reward * m
        adv_d, ret_d = got["default"]
        checks = {
            "td_error": (got["td"][0], td),
            "monte_carlo_error": (got["mc"][0], rtg - vm),
            "returns_minus_values_error": ((ret_d - v) * m, adv_d * m),
            "padding_change": (torch.cat([got["padded"][0], got["padded"][1]], 1),
                               torch.cat([adv_d, torch.zeros(b, self.extra, dtype=torch.float64), ret_d,
                                          torch.zeros(b, self.extra, dtype=torch.float64)], 1)),
            "single_reward_error": (got["single"][0], single),
        }
        err = {k: _largest_difference(*pair) for k, pair in checks.items()}
        said = {
            "td_error": "λ = 0 should give the one-step TD errors δ_t",
            "monte_carlo_error": "λ = γ = 1 should give the reward-to-go minus V",
            "returns_minus_values_error": "returns - values should equal the advantages on response tokens",
            "padding_change": "appending padding with garbage rewards and values should change nothing",
            "single_reward_error": f"with V = 0 and one reward {self.reward:g} at a row's last token, A_t should be "
                                   f"(γλ)^(L-1-t)·{self.reward:g}",
        }
        problems = [f"{said[k]} (largest difference {err[k]:.3g})" for k, pair in checks.items() if not _within(*pair)]
        longest = max(range(b), key=lambda i: self.lengths[i])
        n = self.lengths[longest]
        curves = [series("A_t, one reward at the last token", got["single"][0][longest, :n].tolist(), x="t",
                         gamma=self.gamma, lam=self.lam),
                  series("(γλ)^(L-1-t)·r", single[longest, :n].tolist(), x="t", gamma=self.gamma, lam=self.lam)]
        shown = (f"largest differences from the closed forms: TD errors (λ = 0) {err['td_error']:.2g}, reward-to-go - V "
                 f"(λ = γ = 1) {err['monte_carlo_error']:.2g}, returns - values vs advantages "
                 f"{err['returns_minus_values_error']:.2g}, after appending {self.extra} garbage padding columns "
                 f"{err['padding_change']:.2g}, (γλ)^(L-1-t)·r {err['single_reward_error']:.2g} "
                 f"(rows of lengths {self.lengths}, γ = {self.gamma:g}, λ = {self.lam:g}, float64; tolerance "
                 f"{GAE_BEHAVIOUR_ATOL:g} + {GAE_BEHAVIOUR_RTOL:g}·|expected|)")
        judged = {k: float(e) for k, e in err.items()}
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + shown[0].upper() + shown[1:] + ".",
                               details=details(curves, **judged))
        return CheckResult("behaviour", "pass", shown[0].upper() + shown[1:] + ": all within tolerance. λ "
                           "slides from the one-step TD error (low variance, biased by V) to the Monte Carlo "
                           "return (unbiased, high variance).", details=details(curves, **judged))


def _largest_difference(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| (inf where got is NaN; 0 for empty tensors)."""
    diff = (got - want).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    return float(diff.max()) if diff.numel() else 0.0


def _within(got: torch.Tensor, want: torch.Tensor) -> bool:
    return bool(((got - want).abs() <= GAE_BEHAVIOUR_ATOL + GAE_BEHAVIOUR_RTOL * want.abs()).all())


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
)
