"""advantages: both functions with their conventions as knobs, for the differential diagnosis
(grader.checks.conventions). An alternative whose words are a catalogued mistake's name is
named as that mistake; the others say what the output matches."""
from __future__ import annotations

import torch

from grader.checks.conventions import Conventions, Knob


def _grouped(r: torch.Tensor, group_size: int, how: str) -> torch.Tensor:
    """[B] -> [B/G, G]: consecutive rows (the contract) or every B/G-th row (view(G, -1))."""
    return r.reshape(group_size, -1).T if how == "strided" else r.reshape(-1, group_size)


def _ungrouped(a: torch.Tensor, how: str) -> torch.Tensor:
    return (a.T if how == "strided" else a).reshape(-1)


def _group_formula(k, rewards, group_size, scale="group", eps=1e-4):
    r = rewards.detach()
    x = _grouped(r, group_size, k["groups"])  # [B/G, G]
    correction = 1 if k["std"] == "bessel" else 0
    batch_mean = k["mean"] == "batch" or (scale == "batch" and k["batch"] == "batch_mean")
    a = x - (r.mean() if batch_mean else x.mean(1, keepdim=True))
    if scale == "group":
        spread = "batch" if k["group"] == "batch" else "group"
    elif scale == "batch":
        spread = "group" if k["batch"] == "group_std" else "batch"
    else:
        spread = "group" if k["none"] == "divides" else None
    if spread is not None:
        var = x.var(1, keepdim=True, correction=correction) if spread == "group" else r.var(correction=correction)
        e = 1e-4 if k["eps"] == "ignored" else eps
        a = {"std + eps": lambda: a / (var.sqrt() + e), "ignored": lambda: a / (var.sqrt() + e),
             "none": lambda: a / var.sqrt(), "variance": lambda: a / (var + e).sqrt(),
             "clamp": lambda: a / var.sqrt().clamp(min=e)}[k["eps"]]()
    return {"advantages": _ungrouped(a, k["groups"])}


_STRIDED = "strided groups (view(G, -1))"
GROUP_CONVENTIONS = Conventions(_group_formula, (
    Knob("std", "bessel", {"population": "population std instead of Bessel's"}),
    Knob("group", "group", {"batch": "batch normalisation when 'group' is asked"}),
    Knob("batch", "group mean, batch std", {"batch_mean": "'batch' without subtracting the group mean",
                                            "group_std": "'batch' divided by each group's std instead of the batch's"}),
    Knob("none", "no division", {"divides": "'none' still divided by the group's std"}),
    Knob("mean", "group", {"batch": "the batch's mean subtracted instead of each group's, under every scale"}),
    Knob("eps", "std + eps", {"none": "no eps (NaN on a group of equal rewards)", "ignored": "eps argument ignored",
                              "variance": "eps added to the variance",
                              "clamp": "the std clamped at eps (max(std, eps)) instead of std + eps"}),
    Knob("groups", "contiguous", {"strided": _STRIDED}),
))


def _rloo_formula(k, rewards, group_size):
    x = _grouped(rewards.detach(), group_size, k["groups"])  # [B/G, G]
    total = x.sum(1, keepdim=True)
    base = {"others": lambda: (total - x) / (group_size - 1), "itself": lambda: total / group_size,
            "itself_g1": lambda: total / (group_size - 1), "others_g": lambda: (total - x) / group_size}[k["baseline"]]()
    a = x - base if k["sign"] == "+" else base - x
    return {"advantages": _ungrouped(a, k["groups"])}


_ITSELF = "RLOO including the reward itself in its baseline"
RLOO_CONVENTIONS = Conventions(_rloo_formula, (
    Knob("baseline", "others", {"itself": _ITSELF, "itself_g1": _ITSELF,
                                "others_g": "the others' sum divided by G instead of G - 1"}),
    Knob("sign", "+", {"-": "advantage reversed (the baseline minus the reward)"}),
    Knob("groups", "contiguous", {"strided": _STRIDED}),
))
