"""kl_penalty's behaviour run: the user's estimators, weighted by π over a whole vocabulary."""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks.cases import generator
from grader.checks.details import details
from grader.core.results import CheckResult
from grader.core.tolerances import (KL_EXPECTATION_ATOL, KL_EXPECTATION_RTOL, KL_K2_CLOSE_MAX_BIAS,
                                    KL_K2_FAR_MIN_BIAS)


class EstimatorBehaviour:
    """k1, k2 and k3 over every token of a vocabulary of 32, weighted by π: exact expectations.

    Two pairs (π, π_ref) from one seed: 'close' (π_ref's logits are π's moved by N(0, 0.1²))
    and 'far' (π uniform, π_ref's logits N(0, 2²)). The child calls the submission; the grader
    computes π, the true KL and the expectations.
    """

    vocab = 32
    pairs = ("close", "far")

    def inputs(self, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """[2, V] log π and log π_ref: row 0 the close pair, row 1 the far pair."""
        g = generator(seed, 950)
        close = torch.randn(self.vocab, generator=g, dtype=torch.float64)
        close_ref = close + 0.1 * torch.randn(self.vocab, generator=g, dtype=torch.float64)
        far = torch.zeros(self.vocab, dtype=torch.float64)  # π uniform
        far_ref = 2.0 * torch.randn(self.vocab, generator=g, dtype=torch.float64)  # π_ref peaked
        return (torch.log_softmax(torch.stack([close, far]), -1),
                torch.log_softmax(torch.stack([close_ref, far_ref]), -1))

    def run(self, fn: Callable, seed: int) -> dict[str, Any]:
        logps, ref = self.inputs(seed)
        out = {}
        with torch.no_grad():
            for kind in ("k1", "k2", "k3"):
                k = fn(logps.clone(), ref.clone(), kind=kind)
                out[kind] = torch.as_tensor(k).detach().to(torch.float64).reshape(-1).tolist()
        return {"seed": seed, "estimates": out}

    def judge(self, data: dict[str, Any]) -> CheckResult:
        logps, ref = self.inputs(int(data["seed"]))
        p = logps.exp()  # [2, V]
        kl = (p * (logps - ref)).sum(-1)  # [2]: KL(π ‖ π_ref), computed here
        est = {}
        for kind, values in data["estimates"].items():
            t = torch.tensor(values, dtype=torch.float64)
            if t.numel() != p.numel():
                return CheckResult("behaviour", "fail", f"kl_penalty(..., kind='{kind}') on [2, {self.vocab}] "
                                   f"inputs returned {t.numel()} values, not {p.numel()}.")
            if not bool(torch.isfinite(t).all()):
                return CheckResult("behaviour", "fail", f"kl_penalty(..., kind='{kind}') returned NaN or inf on "
                                   "log-probs of a vocabulary of 32.")
            est[kind] = t.reshape(p.shape)
        mean = {k: (p * v).sum(-1) for k, v in est.items()}  # [2] each: E_π[k]
        sd = {k: ((p * (v - mean[k].unsqueeze(1)) ** 2).sum(-1)).sqrt() for k, v in est.items()}
        judged, parts, problems = {}, [], []
        order = list(self.pairs)
        for row, pair in enumerate(order):
            kl_, e1, e2, e3 = (float(x[row]) for x in (kl, mean["k1"], mean["k2"], mean["k3"]))
            s1, s3 = float(sd["k1"][row]), float(sd["k3"][row])
            min1, min3 = float(est["k1"][row].min()), float(est["k3"][row].min())
            judged.update({f"{pair}_kl": kl_, f"{pair}_mean_k1": e1, f"{pair}_mean_k2": e2, f"{pair}_mean_k3": e3,
                           f"{pair}_sd_k1": s1, f"{pair}_sd_k3": s3, f"{pair}_min_k1": min1, f"{pair}_min_k3": min3})
            parts.append(f"{pair} pair: KL {kl_:.5g}, E[k1] {e1:.5g}, E[k2] {e2:.5g}, E[k3] {e3:.5g}; "
                         f"sd k1 {s1:.3g}, sd k3 {s3:.3g}; min k1 {min1:.3g}, min k3 {min3:.3g}")
            for kind, e in (("k1", e1), ("k3", e3)):
                if abs(e - kl_) > KL_EXPECTATION_ATOL + KL_EXPECTATION_RTOL * abs(kl_):
                    problems.append(f"{pair} pair: E_π[{kind}] = {e:.6g} should equal KL = {kl_:.6g} ({kind} is unbiased)")
            bias = abs(e2 - kl_) / kl_
            if pair == "far" and bias < KL_K2_FAR_MIN_BIAS:
                problems.append(f"far pair: E_π[k2] = {e2:.6g} is within {KL_K2_FAR_MIN_BIAS:.0%} of KL = {kl_:.6g}; "
                                "d²/2 is biased, so this is not k2")
            if pair == "close" and bias > KL_K2_CLOSE_MAX_BIAS:
                problems.append(f"close pair: E_π[k2] = {e2:.6g} is {bias:.0%} off KL = {kl_:.6g}; d²/2 is close "
                                "to KL when π ≈ π_ref")
            if min3 < 0:
                problems.append(f"{pair} pair: k3 is negative on a token ({min3:.3g}); e^d - 1 - d never is")
            if min1 >= 0:
                problems.append(f"{pair} pair: k1 = -d is never negative here, yet d > 0 wherever π_ref > π")
            if pair == "close" and not s3 < s1:
                problems.append(f"close pair: sd of k3 ({s3:.3g}) should be below k1's ({s1:.3g})")
        summary = "; ".join(parts) + f" (expectations are exact sums over a vocabulary of {self.vocab})."
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary,
                               details=details(**judged))
        return CheckResult("behaviour", "pass", summary + " k1 and k3 are unbiased, k2 is not; k3 is never "
                           "negative while k1 is on some tokens, and k3 varies less when π is close to π_ref.",
                           details=details(**judged))
