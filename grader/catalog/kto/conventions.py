"""kto: the contract with its conventions as knobs, for the differential diagnosis
(grader.checks.conventions). An alternative whose words are a catalogued mistake's name is
named as that mistake; the others say what the output matches."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.checks.conventions import Conventions, Knob


def _formula(k, policy, ref, kl_policy, kl_ref, desirable, beta=0.1, desirable_weight=1.0, undesirable_weight=1.0):
    """eq. 7 as TRL computes it; each knob `k[name]` picks one convention. Inputs [B], [B], [K], [K], [B]."""
    r = policy - ref  # [B]
    pairs = {"kl": kl_policy - kl_ref, "batch": r}.get(k["z0"])  # whose mean log-ratio z0 is
    if pairs is None:  # "zero": no reference point
        z0 = torch.zeros((), dtype=r.dtype)
    elif k["clamp"] == "per_pair":
        z0 = pairs.clamp(min=0).mean()
    else:
        z0 = pairs.mean().clamp(min=0) if k["clamp"] == "clamped" else pairs.mean()
    value = {"1-σ": lambda x: torch.sigmoid(-x), "-log σ": lambda x: -F.logsigmoid(x),
             "σ": torch.sigmoid}[k["value"]]  # the loss of an example whose margin is x
    margin = (lambda a, b: beta * (a - b)) if k["beta"] == "both" else (lambda a, b: beta * a - b)
    margin_u = -margin(r, z0) if k["undesirable"] == "z0 - r" else margin(r, z0)
    w_d, w_u = {"given": (desirable_weight, undesirable_weight), "swapped": (undesirable_weight, desirable_weight),
                "ignored": (1.0, 1.0)}[k["weights"]]
    d = desirable.bool()
    d_loss, u_loss = w_d * value(margin(r, z0)), w_u * value(margin_u)  # [B] each
    losses = torch.where(d, d_loss, u_loss)  # [B]
    loss = {"mean": lambda: losses.mean(), "sum": lambda: losses.sum(),
            "desirable_sum": lambda: losses.sum() / d.sum(), "desirable_mean": lambda: losses[d].mean(),
            "subsets": lambda: (d_loss[d].mean() + u_loss[~d].mean()) / 2}[k["reduction"]]()
    return {"loss": loss, "rewards": (beta if k["rewards"] == "beta" else 1.0) * r, "kl": z0}


_DESIRABLE_ONLY = "mean over desirable examples only"
CONVENTIONS = Conventions(_formula, (
    Knob("z0", "kl", {"batch": "z0 from the batch's own log-ratios",
                      "zero": "z0 missing (a reference point of 0)"}),
    Knob("clamp", "clamped", {"none": "z0 not clamped at 0",
                              "per_pair": "each KL pair's log-ratio clamped at 0 before the mean, instead of z0"}),
    Knob("value", "1-σ", {"-log σ": "DPO's -log σ instead of 1 - σ",
                          "σ": "σ(margin) instead of 1 - σ(margin) (the value, not the loss)"}),
    Knob("beta", "both", {"r_only": "β on the log-ratio only: β·r - z0 instead of β·(r - z0)"}),
    Knob("undesirable", "z0 - r", {"r - z0": "undesirable term with the wrong sign"}),
    Knob("weights", "given", {"swapped": "weights swapped",
                              "ignored": "desirable_weight and undesirable_weight ignored"}),
    Knob("reduction", "mean", {"desirable_sum": _DESIRABLE_ONLY, "desirable_mean": _DESIRABLE_ONLY,
                               "sum": "loss summed over the batch instead of averaged",
                               "subsets": "the mean of the desirable and the undesirable examples' means instead "
                                          "of the mean over all B examples"}),
    Knob("rewards", "beta", {"plain": "rewards without β"}),
))
