"""ppo: the contract with its conventions as knobs, for the differential diagnosis
(grader.checks.conventions). Alternatives whose words are a catalogued mistake's name are
named as that mistake; the others say what the output matches."""
from __future__ import annotations

import torch

from grader.checks.conventions import Conventions, Knob


def _reduce(x: torch.Tensor, m: torch.Tensor, how: str) -> torch.Tensor:
    """[B, T] per-token values, [B, T] mask -> [], reduced the way `how` names (REDUCTIONS)."""
    m = m.to(x.dtype)
    xm = x * m
    if how == "token_mean":  # the contract: masked sum / max(response tokens, 1)
        return xm.sum() / m.sum().clamp(min=1)
    if how == "padded_mean":
        return xm.sum() / x.numel()
    if how == "sequence_mean":
        return (xm.sum(-1) / m.sum(-1).clamp(min=1)).mean()
    if how == "sequence_sum":
        return xm.sum(-1).mean()
    if how == "batch_sum":
        return xm.sum()
    if how == "nonzero":
        return xm.sum() / (xm != 0).sum().clamp(min=1)
    if how == "unmasked":
        return x.mean()
    if how == "unclamped":
        return xm.sum() / m.sum()
    raise ValueError(f"unknown reduction {how!r}")


REDUCTIONS = {
    "padded_mean": "mean over the padded length",
    "sequence_mean": "per-sequence mean then batch mean",
    "nonzero": "non-zero terms counted as tokens",
    "unmasked": "mask not applied",
    "unclamped": "token count not clamped to 1",
    "sequence_sum": "each sequence's sum, then the batch mean, instead of the token mean",
    "batch_sum": "the masked sum over the batch instead of the token mean",
}


def _formula(k, lp, olp, a, v, ov, ret, m, clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):
    """Eq. 7 with value clipping; each knob `k[name]` picks one convention."""
    log_ratio = lp - olp  # [B, T]
    ratio = {"exp": lambda: log_ratio.exp(), "inverted": lambda: (-log_ratio).exp(),
             "quotient": lambda: lp / olp, "log_ratio": lambda: log_ratio}[k["ratio"]]()
    lo, hi = 1 - clip_eps, 1 + clip_eps
    if k["clip"] == "ratio":
        u, c = a * ratio, a * ratio.clamp(lo, hi)
    elif k["clip"] == "advantage":
        u, c = a * ratio, a.clamp(lo, hi) * ratio
    elif k["clip"] == "advantage_eps":
        u, c = a * ratio, a.clamp(-clip_eps, clip_eps) * ratio
    else:  # "log_ratio": the log-ratio clamped to ±ε
        u, c = a * ratio, a * log_ratio.clamp(-clip_eps, clip_eps).exp()
    u, c = -u, -c  # the loss is the negated objective: max(-A·r, -A·clip(r))
    pick = torch.maximum if k["policy"] == "max" else torch.minimum
    pl = (1.0 if k["sign"] == "+" else -1.0) * _reduce(pick(u, c), m, k["reduction"])

    centre = ov if k["v_centre"] == "old_values" else ret
    v_clip = centre + (v - centre).clamp(-value_clip_eps, value_clip_eps)
    e_u, e_c = (v - ret) ** 2, (v_clip - ret) ** 2
    per_v = {"max": lambda: torch.maximum(e_u, e_c), "min": lambda: torch.minimum(e_u, e_c),
             "clipped": lambda: e_c}[k["value"]]()
    vl = (0.5 if k["half"] == "½" else 1.0) * _reduce(per_v, m, k["reduction"])

    if k["vf"] == "value":
        loss = pl + vf_coef * vl
    elif k["vf"] == "policy":
        loss = vf_coef * pl + vl
    elif k["vf"] == "missing":
        loss = pl + vl
    elif k["vf"] == "inside":  # value_loss returned already weighted
        vl = vf_coef * vl
        loss = pl + vl
    else:  # "minus"
        loss = pl - vf_coef * vl

    if k["clipped"] == ">":
        clipped = c > u
    elif k["clipped"] == ">=":
        clipped = c >= u
    else:  # "outside": every ratio outside the band
        clipped = (ratio - 1).abs() > clip_eps
    return {"loss": loss, "policy_loss": pl, "value_loss": vl,
            "clip_fraction": _reduce(clipped.to(lp.dtype), m, k["reduction"])}


_ADVANTAGE = "clipping the advantage instead of the ratio"
CONVENTIONS = Conventions(_formula, (
    Knob("reduction", "token_mean", REDUCTIONS),
    Knob("ratio", "exp", {"inverted": "ratio inverted", "quotient": "ratio = logps / old_logps",
                          "log_ratio": "the log-ratio logps - old_logps used as the ratio (exp missing)"}),
    Knob("clip", "ratio", {"advantage": _ADVANTAGE, "advantage_eps": _ADVANTAGE, "log_ratio": "log-ratio clipped to ±ε"}),
    Knob("sign", "+", {"-": "policy_loss with the wrong sign (eq. 7's objective, to maximise, returned as the loss)"}),
    Knob("policy", "max", {"min": "min of the negated terms"}),
    Knob("v_centre", "old_values", {"returns": "value clipping around returns instead of old_values"}),
    Knob("value", "max", {"min": "min of the two value terms",
                          "clipped": "only the clipped value error (no max with the unclipped one)"}),
    Knob("half", "½", {"1": "the ½ missing"}),
    Knob("vf", "value", {"policy": "vf_coef on the wrong term",
                         "missing": "vf_coef missing (loss = policy_loss + value_loss)",
                         "inside": "value_loss returned already multiplied by vf_coef",
                         "minus": "the value term subtracted from the loss"}),
    Knob("clipped", ">", {">=": "clip_fraction counting ties",
                          "outside": "clip_fraction counting every ratio outside the band"}),
))
