"""The behaviour run of group advantages: their invariances (a shift, a scale, RLOO's ratio to the
mean baseline) measured with the submission's two functions, and what the grader expects."""
from __future__ import annotations

from typing import Any

import torch

from grader.checks.cases import generator
from grader.checks.details import details
from grader.core import tolerances as tol
from grader.core.faults import MalformedResults
from grader.core.results import CheckResult

F64 = torch.float64


def _groups(g: torch.Generator, means: list[float], spreads: list[float], size: int, dtype: torch.dtype) -> torch.Tensor:
    """[len(means) · size] rewards: group k has mean means[k] and (Bessel) std spreads[k] exactly.

    Exact spreads keep the cases well conditioned: a group's rewards stay within a few spreads
    of 0 or of each other, so an implementation computing in float32 inside meets the float64
    tolerance (its error on an advantage is about 1e-7 · |r| / spread)."""
    z = torch.randn(len(means), size, generator=g, dtype=F64)
    z = (z - z.mean(1, keepdim=True)) / z.std(1, keepdim=True) if size > 1 else torch.zeros_like(z)
    return (torch.tensor(means, dtype=F64)[:, None] + torch.tensor(spreads, dtype=F64)[:, None] * z).reshape(-1).to(dtype)


class AdvantagesBehaviour:
    """The invariances of group advantages, measured with the submission's two functions.

    Float64 rewards, 4 groups of 6 with spreads of exactly 0.5 to 3 (so eps's effect under
    scaling, eps/s · |A| · (1 - 1/c), stays below 2.8e-4); one group shifted by +7; all rewards
    scaled by c = 3.
    """

    group_size, shift, c = 6, 7.0, 3.0
    means, spreads = (0.0, 2.0, -1.0, 5.0), (0.5, 1.0, 2.0, 3.0)

    def rewards(self, seed: int) -> torch.Tensor:
        """[24] rewards whose groups have exactly the stated means and (Bessel) spreads, so the
        bound on eps's effect under scaling holds at every seed."""
        return _groups(generator(seed, 77), list(self.means), list(self.spreads), self.group_size, F64)

    def run(self, module: Any, seed: int) -> dict[str, Any]:
        group, rloo = module.group_advantages, module.rloo_advantages
        r, G = self.rewards(seed), self.group_size
        shifted = r.clone()
        shifted[G:2 * G] += self.shift  # group 1 only
        flat = lambda a: [float(x) for x in torch.as_tensor(a).detach().reshape(-1)]  # whatever shape came back
        out: dict[str, Any] = {}
        for scale in ("group", "batch", "none"):
            out[scale] = flat(group(r.clone(), G, scale=scale))
            out[f"{scale}_shifted"] = flat(group(shifted.clone(), G, scale=scale))
            out[f"{scale}_scaled"] = flat(group(self.c * r, G, scale=scale))
        out["rloo"] = flat(rloo(r.clone(), G))
        out["rewards"] = flat(r)
        return out

    def judge(self, data: dict[str, Any]) -> CheckResult:
        G, n = self.group_size, len(self.means)
        keys = [f"{s}{suffix}" for s in ("group", "batch", "none") for suffix in ("", "_shifted", "_scaled")]
        keys += ["rloo", "rewards"]
        if not all(isinstance(data.get(k), list) for k in keys):
            raise MalformedResults("the behaviour run's record is not the one the grader's run writes")
        try:  # a submission may return advantages of the wrong shape: that is its own failure
            t = {k: torch.tensor(data[k], dtype=F64).reshape(n, G) for k in keys}
        except (RuntimeError, TypeError, ValueError):
            return CheckResult("behaviour", "fail", f"the advantages are not {n * G} numbers (see output_types).")
        if not all(bool(torch.isfinite(v).all()) for v in t.values()):
            return CheckResult("behaviour", "fail", "the advantages contain NaN or inf (see values).")
        worst = lambda x: float(x.abs().max())
        group_sum = max(worst(t[s].sum(1)) for s in ("group", "batch", "none"))
        stds = t["rewards"].std(1)  # the groups' own spreads s
        want_std = stds / (stds + 1e-4)
        std_err = worst((t["group"].std(1) - want_std) / want_std)
        shift_group = worst(t["group_shifted"] - t["group"])
        shift_none = worst(t["none_shifted"] - t["none"])
        shift_batch = worst(t["batch_shifted"] - t["batch"])
        scale_none = worst(t["none_scaled"] - self.c * t["none"]) / self.c
        scale_group = worst(t["group_scaled"] - t["group"])
        rloo_err = worst(t["rloo"] - G / (G - 1) * t["none"])
        judged = {"group_sum_max": group_sum, "group_std_rel_error": std_err, "shift_change_group": shift_group,
                  "shift_change_none": shift_none, "shift_change_batch": shift_batch,
                  "scale_error_none": scale_none, "scale_change_group": scale_group, "rloo_error": rloo_err}
        problems = []
        if group_sum > tol.ADVANTAGES_GROUP_SUM_ATOL:
            problems.append(f"a group's advantages sum to {group_sum:.3g}, not 0")
        if std_err > tol.ADVANTAGES_GROUP_STD_RTOL:
            problems.append(f"under 'group' a group's std is off s/(s + eps) by {std_err:.3g} (relative)")
        if max(shift_group, shift_none) > tol.ADVANTAGES_SHIFT_ATOL:
            problems.append(f"shifting one group's rewards changed 'group' by {shift_group:.3g} and 'none' by "
                            f"{shift_none:.3g}, though each group's own mean should absorb it")
        if shift_batch < tol.ADVANTAGES_BATCH_SHIFT_MIN:
            problems.append(f"shifting one group changed 'batch' by only {shift_batch:.3g}, though the batch's "
                            "spread grew")
        if scale_none > tol.ADVANTAGES_SCALE_NONE_RTOL:
            problems.append(f"'none' is not linear in the rewards (off c·A by {scale_none:.3g})")
        if scale_group > tol.ADVANTAGES_SCALE_GROUP_ATOL:
            problems.append(f"scaling the rewards by {self.c:g} changed 'group' by {scale_group:.3g}")
        if rloo_err > tol.ADVANTAGES_RLOO_ATOL:
            problems.append(f"RLOO differs from G/(G-1) × the mean-baseline advantages by {rloo_err:.3g}")
        summary = (f"4 groups of {G} (float64, spreads 0.5 to 3): group sums at most {group_sum:.1e}; "
                   f"std of 'group' advantages = s/(s + eps) to {std_err:.1e}; group 1 shifted by "
                   f"{self.shift:g}: 'group' moves {shift_group:.1e}, 'none' {shift_none:.1e}, 'batch' "
                   f"{shift_batch:.3g}; rewards × {self.c:g}: 'none' × {self.c:g} to "
                   f"{scale_none:.1e}, 'group' moves {scale_group:.1e}; RLOO = {G}/{G - 1} × mean "
                   f"baseline to {rloo_err:.1e}.")
        # No training here, so no curves: the advantages themselves are among the numbers judged.
        info = details([], **judged, **{f"advantages_{k}": t[k].reshape(-1).tolist() for k in ("group", "batch", "none", "rloo")})
        if problems:
            return CheckResult("behaviour", "fail", "; ".join(problems) + ". " + summary, details=info)
        return CheckResult("behaviour", "pass", summary + " Under 'group' only eps sees the scale of the rewards; "
                           "only 'batch' sees other prompts: there, one prompt's rewards change every other prompt's "
                           "advantages, through the batch's spread.", details=info)


# ---------------------------------------------------------------- the spec
