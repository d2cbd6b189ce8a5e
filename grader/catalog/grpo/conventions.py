"""grpo: the contract with its conventions as knobs, for the differential diagnosis
(grader.checks.conventions). The formula is the mistake models' `_grpo` with each knob's
switch; an alternative whose words are a catalogued mistake's name is named as that mistake."""
from __future__ import annotations

from grader.catalog.grpo.models import _grpo
from grader.checks.conventions import Conventions, Knob

# knob -> choice -> the `_grpo` switches it sets (the contract's choice sets none)
SWITCHES = {
    "ratio": {"inverted": {"inverted": True}},
    "minmax": {"max": {"swapped": True}},
    "clamp": {"advantage": {"clamp": "advantage"}, "product": {"clamp": "product"}},
    "epsilon_high": {"everywhere": {"eps_high_ignored": "everywhere"}, "clamp": {"eps_high_ignored": "clamp"}},
    "kl": {"flipped": {"kl": "flipped"}, "k1": {"kl": "k1"}, "k2": {"kl": "k2"}},
    "kl_sign": {"-": {"kl_minus": True}},
    "kl_mask": {"loss": {"kl_outside": "loss"}, "term": {"kl_outside": "term"}, "mean_kl": {"kl_outside": "mean_kl"}},
    "advantages": {"row": {"adv_row": True}},
    "grpo": {"padded": {"grpo_over_t": True}, "bnpo": {"reduce_as": {"grpo": "bnpo"}},
             "seq_sum": {"reduce_as": {"grpo": "seq_sum"}}},
    "bnpo": {"grpo": {"reduce_as": {"bnpo": "grpo"}}, "padded": {"reduce_as": {"bnpo": "padded"}}},
    "dr_grpo": {"bnpo": {"dr_over": "bnpo"}, "grpo": {"dr_over": "grpo"}, "length_ignored": {"length_ignored": True},
                "longest": {"longest": True}, "over_length": {"reduce_as": {"dr_grpo": "over_length"}}},
    "sequence_ratio": {"masked": {"seq_over_t": "masked"}, "padding": {"seq_over_t": "padding"}},
    "clip_fraction": {"any_sign": {"clip_any_sign": True}, "all": {"clip_per_completion": "all"},
                      "non_empty": {"clip_per_completion": "non-empty"}},
}


def _formula(k, logps, old_logps, ref_logps, advantages, mask, **options):
    switches: dict = {}
    for knob, choice in k.items():
        for key, value in SWITCHES[knob].get(choice, {}).items():
            if key == "reduce_as":
                switches.setdefault("reduce_as", {}).update(value)
            else:
                switches[key] = value
    return _grpo(logps, old_logps, ref_logps, advantages, mask, **options, **switches)


_CLAMP, _EPS_HIGH = "clamp applied to the advantage", "epsilon_high ignored"
_KL_MASK, _DR_LENGTHS = "KL term outside the mask", "dr_grpo divided by the real lengths"
_SEQ, _PER_COMPLETION = "sequence ratio averaged over padding", "clip fraction per completion under \"sequence\""
CONVENTIONS = Conventions(_formula, (
    Knob("ratio", "new/old", {"inverted": "ratio inverted"}),
    Knob("minmax", "min", {"max": "min and max swapped"}),
    Knob("clamp", "ratio", {"advantage": _CLAMP, "product": _CLAMP}),
    Knob("epsilon_high", "used", {"everywhere": _EPS_HIGH, "clamp": _EPS_HIGH}),
    Knob("kl", "k3", {"flipped": "k3 with the sign of d flipped", "k1": "k1 instead of k3",
                      "k2": "k2 (d²/2) instead of k3"}),
    Knob("kl_sign", "+", {"-": "β·KL subtracted from the loss instead of added"}),
    Knob("kl_mask", "masked", {"loss": _KL_MASK, "term": _KL_MASK, "mean_kl": _KL_MASK}),
    Knob("advantages", "column", {"row": "advantages broadcast along the wrong dimension"}),
    Knob("grpo", "grpo", {"padded": "grpo averaged over the padded length",
                          "bnpo": "loss_type 'grpo' reduced as a token mean over the batch (bnpo's reduction)",
                          "seq_sum": "loss_type 'grpo' summed over each completion's tokens instead of averaged"}),
    Knob("bnpo", "bnpo", {"grpo": "loss_type 'bnpo' reduced as a mean per completion (grpo's reduction)",
                          "padded": "loss_type 'bnpo' divided by B·T (the padded length) instead of the token count"}),
    Knob("dr_grpo", "constant", {"bnpo": _DR_LENGTHS, "grpo": _DR_LENGTHS,
                                 "length_ignored": "max_completion_length ignored",
                                 "longest": "dr_grpo normalised by the longest completion",
                                 "over_length": "dr_grpo divided by max_completion_length only, not by "
                                                "B·max_completion_length"}),
    Knob("sequence_ratio", "own tokens", {"masked": _SEQ, "padding": _SEQ}),
    Knob("clip_fraction", "advantage's direction", {"any_sign": "clip fraction ignores the advantage's sign",
                                                    "all": _PER_COMPLETION, "non_empty": _PER_COMPLETION}),
))
