"""gae's behaviour run: the user's function against closed forms computed in the grader."""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.cases import generator
from grader.checks.details import details
from grader.core.results import CheckResult
from grader.core.tolerances import GAE_BEHAVIOUR_ATOL, GAE_BEHAVIOUR_RTOL


def lengths_mask(lengths: list[int], t: int) -> torch.Tensor:
    """[B, T] right-padded mask: ones for each row's length, then zeros."""
    return (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).float()


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
        shown = (f"largest differences from the closed forms: TD errors (λ = 0) {err['td_error']:.2g}, reward-to-go - V "
                 f"(λ = γ = 1) {err['monte_carlo_error']:.2g}, returns - values vs advantages "
                 f"{err['returns_minus_values_error']:.2g}, after appending {self.extra} garbage padding columns "
                 f"{err['padding_change']:.2g}, (γλ)^(L-1-t)·r {err['single_reward_error']:.2g} "
                 f"(rows of lengths {self.lengths}, γ = {self.gamma:g}, λ = {self.lam:g}, float64; tolerance "
                 f"{GAE_BEHAVIOUR_ATOL:g} + {GAE_BEHAVIOUR_RTOL:g}·|expected|)")
        judged = {k: float(e) for k, e in err.items()}
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + shown[0].upper() + shown[1:] + ".",
                               details=details(**judged))
        return CheckResult("behaviour", "pass", shown[0].upper() + shown[1:] + ": all within tolerance. λ "
                           "slides from the one-step TD error (low variance, biased by V) to the Monte Carlo "
                           "return (unbiased, high variance).", details=details(**judged))


def _largest_difference(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| (inf where got is NaN; 0 for empty tensors)."""
    diff = (got - want).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    return float(diff.max()) if diff.numel() else 0.0


def _within(got: torch.Tensor, want: torch.Tensor) -> bool:
    return bool(((got - want).abs() <= GAE_BEHAVIOUR_ATOL + GAE_BEHAVIOUR_RTOL * want.abs()).all())
