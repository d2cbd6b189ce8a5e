"""Convention families: a kata's computation written with the choices a person can mix up as knobs.

When an output is wrong and no catalogued mistake's model reproduces it, the grader tries the
kata's computation with one convention changed (then two) and says which one the output
matches: sum vs mean vs mean over the padded length vs count of non-zero entries, per-row vs
per-batch, the mask on the wrong side of the shift, each term's sign, β on the wrong term.

How a kata opts in (any FunctionSpec, policy-gradient katas included): give the spec
`conventions=Conventions(formula, knobs)`, where

    formula(k, *inputs, **options) -> {output name: tensor}

computes the contract when every knob `k[name]` is at its `contract` choice, and each
`Knob.alternatives` maps another choice to what it is, in the catalogue's words. Token
reductions over a mask need no code of their own: `reduce_tokens(lp, mask, k["reduction"])`
and `reduction_knob(...)` cover the usual family (the same for a [B, T] advantage or a
per-token KL). When an alternative's words are exactly a catalogued mistake's name, the
diagnosis names that mistake; otherwise it says what the output matches. A test checks
that the formula at the contract reproduces the reference on every seed.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Iterator

import torch


@dataclass(frozen=True)
class Knob:
    name: str
    contract: str  # the contract's choice
    alternatives: dict[str, str]  # another choice -> what it is, in the catalogue's words


@dataclass(frozen=True)
class Conventions:
    formula: Callable[..., dict[str, torch.Tensor]]
    knobs: tuple[Knob, ...]
    depth: int = 2  # try up to this many knobs changed at once

    @property
    def contract(self) -> dict[str, str]:
        return {k.name: k.contract for k in self.knobs}

    def deviations(self) -> Iterator[tuple[dict[str, str], list[str]]]:
        """Every setting with 1..depth knobs off the contract: (choices, their words), fewest first."""
        for n in range(1, self.depth + 1):
            for knobs in itertools.combinations(self.knobs, n):
                for picks in itertools.product(*(list(k.alternatives.items()) for k in knobs)):
                    choices = dict(self.contract)
                    choices.update({k.name: choice for k, (choice, _) in zip(knobs, picks)})
                    yield choices, [words for _, words in picks]


# ---------------------------------------------------------------- the token-reduction family
REDUCTION_WORDS = {
    "sum": "the sum over the response tokens",
    "mean": "the mean over the response tokens",
    "mean_clamped": "the mean over the response tokens (count clamped to 1)",
    "padded_mean": "the mean over the padded length",
    "nonzero_mean": "the mean over the non-zero log-probs (a token predicted with certainty has log-prob exactly 0)",
    "batch_count": "the row's sum divided by the whole batch's token count (per-batch instead of per-row)",
    "unmasked_sum": "the sum over every position, prompt and padding included (mask not applied)",
    "unmasked_mean": "the mean over every position, prompt and padding included (mask not applied)",
    "unclamped_mean": "the mean over the response tokens with no clamp (0 / 0 on an empty response)",
}


def reduce_tokens(lp: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """[B, T] per-token values, [B, T] mask -> [B], reduced the way `how` names (REDUCTION_WORDS)."""
    m = mask.to(lp.dtype)
    total = (lp * m).sum(-1)
    count = m.sum(-1)
    if how == "sum":
        return total
    if how in ("mean", "unclamped_mean"):
        return total / count
    if how == "mean_clamped":
        return total / count.clamp(min=1)
    if how == "padded_mean":
        return total / lp.shape[-1]
    if how == "nonzero_mean":
        return total / ((lp * m) != 0).to(lp.dtype).sum(-1).clamp(min=1)
    if how == "batch_count":
        return total / m.sum().clamp(min=1)
    if how == "unmasked_sum":
        return lp.sum(-1)
    if how == "unmasked_mean":
        return lp.mean(-1)
    raise ValueError(f"unknown reduction {how!r}")


def reduction_knob(contract: str, *alternatives: str, name: str = "reduction", **words: str) -> Knob:
    """The token-reduction knob: `alternatives` from REDUCTION_WORDS, each described as
    '<it> instead of <the contract>' unless `words` gives the catalogue's own words for it."""
    alternatives = alternatives or tuple(k for k in REDUCTION_WORDS if k != contract)
    return Knob(name, contract, {a: words.get(a, f"{REDUCTION_WORDS[a]} instead of {REDUCTION_WORDS[contract]}")
                                 for a in alternatives})


def sign_knob(name: str, words: str) -> Knob:
    return Knob(name, "+", {"-": words})


def batch_knob(words: str = "loss summed over the batch instead of averaged") -> Knob:
    return Knob("batch", "mean", {"sum": words})


def over_batch(x: torch.Tensor, how: str) -> torch.Tensor:
    return x.mean() if how == "mean" else x.sum()
