"""advantages: two functions graded with the same checks (their cases in cases.py), the
mistakes' models, and the behaviour run.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.advantages.behaviour import AdvantagesBehaviour
from grader.catalog.advantages.cases import group_bad_inputs, group_cases, rloo_bad_inputs, rloo_cases
from grader.catalog.advantages.conventions import GROUP_CONVENTIONS, RLOO_CONVENTIONS
from grader.checks.function import FunctionSpec, Param
from grader.checks.multi import FunctionsSpec


# ---------------------------------------------------------------- mistake models
def _group_adv(rewards, group_size, scale="group", eps=1e-4, *, group_std=None, batch_std=None,
               batch_mean=False, strided=False, add_eps=(True, True)):
    """group_advantages with one convention changed; each keyword names what a mistake changes."""
    r = rewards.detach()
    x = r.reshape(group_size, -1).T if strided else r.reshape(-1, group_size)  # [B/G, G]
    mean = r.mean() if scale == "batch" and batch_mean else x.mean(1, keepdim=True)
    a = x - mean
    if scale == "group":
        std = (group_std or (lambda t: t.std(1, keepdim=True)))(x)
        a = a / (std + eps) if add_eps[0] else a / std
    elif scale == "batch":
        std = (batch_std or (lambda t: t.std()))(r)
        a = a / (std + eps) if add_eps[1] else a / std
    return (a.T if strided else a).reshape(-1)


def _population(*a, **k):
    pop_group, pop_batch = (lambda t: t.std(1, keepdim=True, correction=0)), (lambda t: t.std(correction=0))
    return [{"advantages": _group_adv(*a, **k, group_std=pop_group, batch_std=pop_batch)},
            {"advantages": _group_adv(*a, **k, group_std=pop_group)},
            {"advantages": _group_adv(*a, **k, batch_std=pop_batch)}]


def _batch_for_group(rewards, group_size, scale="group", eps=1e-4):
    whole = lambda t: rewards.detach().std().expand(t.shape[0], 1)
    out = [{"advantages": _group_adv(rewards, group_size, scale, eps, group_std=whole)}]
    if scale == "group":  # or the whole batch's mean and std
        r = rewards.detach()
        out.append({"advantages": (r - r.mean()) / (r.std() + eps)})
    else:
        out.append(out[0])
    return out


def _eps_in_variance(rewards, group_size, scale="group", eps=1e-4):
    """a / sqrt(var + eps) everywhere, or only for 'group'."""
    group = lambda t: (t.var(1, keepdim=True) + eps).sqrt()
    batch = lambda t: (t.var() + eps).sqrt()
    return [{"advantages": _group_adv(rewards, group_size, scale, 0.0, group_std=group, batch_std=batch)},
            {"advantages": _group_adv(rewards, group_size, scale, eps, group_std=lambda t: group(t) - eps)}]


def _naive_std(t: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """sqrt(E[t²] - E[t]²) with Bessel's correction: cancels catastrophically far from 0."""
    n = t.shape[dim] if dim is not None else t.numel()
    m2 = (t * t).mean(dim, keepdim=True) if dim is not None else (t * t).mean()
    m = t.mean(dim, keepdim=True) if dim is not None else t.mean()
    return ((m2 - m * m) * n / (n - 1)).sqrt()


def _rloo(rewards, group_size, *, strided=False, divisor=None, itself=False):
    r = rewards.detach()
    x = r.reshape(group_size, -1).T if strided else r.reshape(-1, group_size)
    total = x.sum(1, keepdim=True)
    base = total / (divisor or group_size) if itself else (total - x) / (group_size - 1)
    a = x - base
    return (a.T if strided else a).reshape(-1)


GROUP_MODELS: dict[str, Callable[..., Any]] = {
    "population std instead of Bessel's": _population,
    "'batch' without subtracting the group mean":
        lambda *a, **k: {"advantages": _group_adv(*a, **k, batch_mean=True)},
    "no eps (NaN on a group of equal rewards)":
        lambda *a, **k: [{"advantages": _group_adv(*a, **k, add_eps=(False, False))},
                         {"advantages": _group_adv(*a, **k, add_eps=(False, True))}],
    # eps ignored under every scale, or under one of the two that divide (TRL's 1e-4 written in)
    "eps argument ignored": lambda r, group_size, scale="group", eps=1e-4: [
        {"advantages": _group_adv(r, group_size, scale)},
        {"advantages": _group_adv(r, group_size, scale, eps if scale == "batch" else 1e-4)},
        {"advantages": _group_adv(r, group_size, scale, eps if scale == "group" else 1e-4)}],
    "eps added to the variance": _eps_in_variance,
    "batch normalisation when 'group' is asked": _batch_for_group,
    "strided groups (view(G, -1))": lambda *a, **k: {"advantages": _group_adv(*a, **k, strided=True)},
    "variance as E[r²] - E[r]²":
        lambda *a, **k: {"advantages": _group_adv(*a, **k, group_std=lambda t: _naive_std(t, 1),
                                                  batch_std=_naive_std)},
}

RLOO_MODELS: dict[str, Callable[..., Any]] = {
    "RLOO including the reward itself in its baseline":
        lambda r, group_size: [{"advantages": _rloo(r, group_size, itself=True)},
                               {"advantages": _rloo(r, group_size, itself=True, divisor=group_size - 1)}],
    "strided groups (view(G, -1))": lambda r, group_size: {"advantages": _rloo(r, group_size, strided=True)},
}


def _part(function: str, params: tuple[Param, ...], make_cases, bad_inputs, models, conventions) -> FunctionSpec:
    return FunctionSpec(
        function=function,
        params=params,
        outputs=("advantages",),
        grad_inputs=(),
        make_cases=make_cases,
        # Passed with requires_grad, so that an output still attached to them shows as a graph.
        constants=("rewards",),
        detached=("advantages",),
        bad_inputs=bad_inputs,
        models=models,
        conventions=conventions,
    )


SPEC = FunctionsSpec(
    parts=(
        _part("group_advantages", (Param("rewards"), Param("group_size"), Param("scale", "group"),
                                   Param("eps", 1e-4)), group_cases, group_bad_inputs, GROUP_MODELS,
              GROUP_CONVENTIONS),
        _part("rloo_advantages", (Param("rewards"), Param("group_size")), rloo_cases, rloo_bad_inputs, RLOO_MODELS,
              RLOO_CONVENTIONS),
    ),
    behaviour=AdvantagesBehaviour(),
)
