"""grpo: bad inputs, row combination and the spec; the cases are in `cases.py`, the mistakes'
models in `models.py`, the behaviour run in `behaviour.py`."""
from __future__ import annotations

from typing import Callable

import torch

from grader.catalog.grpo.behaviour import GRPOBehaviour
from grader.catalog.grpo.cases import NAMES, grpo_case, make_cases
from grader.catalog.grpo.conventions import CONVENTIONS
from grader.catalog.grpo.models import MODELS
from grader.checks.cases import Case
from grader.checks.function import FunctionSpec, Param


def _advantages_shaped(shape: str) -> Callable[[Case], None]:
    """An edit of a bad input's advantages to shape [B, 1], [B, T] or [1] (which would broadcast), [1, B]
    (one group's row of rewards.view(-1, G), which a squeeze would take) or [] (one scalar for the batch)."""
    def edit(case: Case) -> None:
        adv = case.inputs["advantages"]
        b, t = case.inputs["logps"].shape
        shaped = {"[B, 1]": adv.unsqueeze(1), "[B, T]": adv.unsqueeze(1).expand(b, t).clone(), "[1]": adv[:1].clone(),
                  "[1, B]": adv.unsqueeze(0), "[]": adv[0].clone()}
        case.inputs["advantages"] = shaped[shape]
    return edit


# Each bad input: (salt, name, options, ref_logps given, edit of the inputs).
_BAD = [
    *((30 + i, f"advantages of shape {shape}", {}, True, _advantages_shaped(shape))
      for i, shape in enumerate(("[B, 1]", "[B, T]", "[1]"))),
    *((71 + i, f"advantages of shape {shape}", {}, True, _advantages_shaped(shape))
      for i, shape in enumerate(("[1, B]", "[]"))),
    (33, "beta > 0 with ref_logps None", {"beta": 0.04}, False, None),
    (34, "beta = 0.001 with ref_logps None", {"beta": 0.001}, False, None),
    (35, "beta > 0 with ref_logps None, sequence", {"beta": 0.04, "importance_sampling_level": "sequence"}, False,
     None),
    (36, "max_completion_length below T", {"loss_type": "dr_grpo", "max_completion_length": 3}, True, None),
    (37, "max_completion_length below T, loss_type 'grpo'", {"max_completion_length": 2}, True, None),
    (38, "max_completion_length 0", {"loss_type": "dr_grpo", "max_completion_length": 0}, True, None),
    # unknown words: nothing, another case, space around a known word or a suffix (a strip() or a
    # prefix match takes it), a prefix or substring of a known word (a substring test, or a tuple
    # of names with a comma missing, takes it), another library's word (TRL's "dapo" and GSPO-token
    # level, verl's loss_agg_mode), a known word spelled with a hyphen (CLI-style names: a
    # replace("-", "_") takes it)
    *((40 + i, f"unknown loss_type {word!r}", {"loss_type": word}, True, None)
      for i, word in enumerate((None, "GRPO", "token_mean", "dr_grpo ", "bnpo_v2", "", "po", "grp", "dapo",
                                "token-mean", "seq-mean-token-mean", "seq-mean-token-sum",
                                "seq-mean-token-sum-norm", "dr-grpo"))),
    *((60 + i, f"unknown importance_sampling_level {word!r}", {"importance_sampling_level": word}, True, None)
      for i, word in enumerate((None, "Token", "group", "token_level", "sequence\n", "", "seq", "tok", "tokens",
                                "sequence_token", "sequence-level"))),
]


def bad_inputs(seed: int) -> list[Case]:
    """Each bad input on a batch with response tokens, and again with none: validation must not
    wait for the data (an early return for an empty micro-batch before the checks)."""
    cases = []
    for salt, name, options, ref, edit in _BAD:
        for empty in (False, True):
            case = grpo_case(seed, salt, name + (", no response token" if empty else ""),
                             [0, 0, 0] if empty else [4, 2, 3], 4, torch.float32, "float", options, ref=ref)
            if edit:
                edit(case)
            cases.append(case)
    return cases


def combine_rows(rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
    """The batch's outputs from its rows graded alone ("grpo"): the loss is the mean of the rows';
    mean_kl and clip_fraction are token means, so the rows' values weighted by their token counts."""
    counts = case.inputs["mask"].to(torch.float64).sum(-1)  # [B]
    total = counts.sum().clamp(min=1)
    dtype = rows[0][0].dtype
    weighted = lambda j: (torch.stack([r[j].to(torch.float64) for r in rows]) * counts).sum() / total
    return [torch.stack([r[0] for r in rows]).mean(), weighted(1).to(dtype), weighted(2).to(dtype)]


SPEC = FunctionSpec(
    function="grpo_loss",
    params=tuple(Param(n) for n in NAMES) + (
        Param("beta", 0.04), Param("epsilon_low", 0.2), Param("epsilon_high", 0.2), Param("loss_type", "grpo"),
        Param("max_completion_length", None), Param("importance_sampling_level", "token")),
    outputs=("loss", "mean_kl", "clip_fraction"),
    grad_inputs=("logps",),
    make_cases=make_cases,
    loss="loss",
    masks={"logps": "mask"},
    detached=("mean_kl", "clip_fraction"),
    constants=("old_logps", "ref_logps", "advantages"),
    bad_inputs=bad_inputs,
    models=MODELS,
    behaviour=GRPOBehaviour(),
    combine_rows=combine_rows,
    conventions=CONVENTIONS,
)
