"""get_probs: seeded cases and the catalogued mistakes."""
from __future__ import annotations

import torch

import torch.nn.functional as F

from grader.checks.conventions import Conventions, Knob, sign_knob
from grader.checks.function import FunctionSpec, Param
from grader.checks.cases import Case, generator, largest_last, small_probabilities, with_layout


def _case(seed: int, salt: int, name: str, b: int, t: int, v: int, dtype: torch.dtype,
          spread: float = 3.0, extreme: bool = False) -> Case:
    g = generator(seed, salt)
    logits = (torch.randn(b, t, v, generator=g, dtype=torch.float64) * spread).to(dtype)
    labels = torch.randint(0, v, (b, t), generator=g)
    if extreme:
        # Point half the labels at the lowest-scoring token: its probability is e^-(hundreds).
        low = logits.argmin(-1)
        pick = torch.rand(b, t, generator=g) < 0.5
        labels = torch.where(pick, low, labels)
    upstream = torch.randn(b, t, generator=g, dtype=torch.float64).to(dtype)
    return Case(name, {"logits": logits, "labels": labels}, extreme=extreme, scale=spread if extreme else 1.0,
                upstream=upstream, note=f"B={b}, T={t}, V={v}, {str(dtype)[6:]}" + (f", logit spread {spread:g}" if extreme else ""))


def _masked_vocabulary(case: Case) -> Case:
    """A quarter of the vocabulary at -inf (never a label), and at position 0 of every row only
    the label left finite: its log-prob is exactly 0."""
    logits, labels = case.inputs["logits"], case.inputs["labels"]
    v = logits.shape[-1]
    g = torch.Generator().manual_seed(v)
    banned = torch.rand(logits.shape, generator=g) < 0.25
    banned.scatter_(-1, labels.unsqueeze(-1), False)
    banned[:, 0] = True
    banned[:, 0].scatter_(-1, labels[:, :1], False)
    logits.masked_fill_(banned, float("-inf"))
    case.note += ", -inf logits (a masked vocabulary), log-prob exactly 0 at t=0"
    return case


GPT2_EOS = 50256  # GPT-2's <|endoftext|>, which its tokenizer also uses as the pad id
INT16_MAX = 32767


def _real_vocabulary_labels(case: Case) -> Case:
    """Labels a real vocabulary has and small ones never reach: row 0 scores the end-of-text id
    (code that drops the pad id by value also drops every real end of a response) and an id
    past int16 (ids stored as int16 wrap to negative indices); each row keeps a random label."""
    labels = case.inputs["labels"]
    labels[0, 0] = GPT2_EOS
    labels[0, 1] = INT16_MAX + 1 + labels[0, 1] % (GPT2_EOS - INT16_MAX - 1)  # the random label moved past int16
    case.note += f"; labels {GPT2_EOS} (end-of-text, GPT-2's pad id) and one above {INT16_MAX}"
    return case


def _small_probabilities(seed: int) -> Case:
    case = _case(seed, 17, "small probabilities", 2, 3, 64, torch.float64, spread=5.0)
    case.inputs["labels"] = small_probabilities(case, case.inputs["logits"])
    return case


def _same_labels(case: Case) -> Case:
    case.inputs["labels"][:] = case.inputs["labels"][:1].clone()
    case.layout["labels"] = "expanded"
    case.note += "; labels expanded from one row"
    return case


def make_cases(seed: int) -> list[Case]:
    return [
        _case(seed, 1, "basic", 2, 5, 11, torch.float32),
        _case(seed, 2, "float64", 3, 4, 7, torch.float64),
        _case(seed, 3, "B=1, T=1", 1, 1, 5, torch.float32),
        _case(seed, 4, "tiny", 1, 3, 4, torch.float64),
        _case(seed, 5, "larger vocabulary", 2, 6, 50, torch.float32),
        largest_last(_case(seed, 12, "V = 2048", 2, 3, 2048, torch.float32)),  # a chunked log-sum-exp must rescale
        # Sizes past the common chunk sizes (8 ... 4096), each kept small in its other dimensions:
        # a real vocabulary (a normaliser over the top k logits, or chunks of 4096, is off there),
        # 33 and 257 rows (micro-batches of 32 and 256) and 300 positions (chunks of 256 along the sequence).
        _real_vocabulary_labels(largest_last(_case(seed, 13, "V = 50257", 1, 3, 50257, torch.float32))),
        _case(seed, 14, "B = 33", 33, 2, 6, torch.float32),
        _case(seed, 16, "B = 257", 257, 2, 5, torch.float32),
        _case(seed, 15, "T = 300", 2, 300, 5, torch.float32),
        # The fixed battery: -inf logits and exact zeros, non-contiguous logits, expanded labels.
        _masked_vocabulary(_case(seed, 8, "masked vocabulary", 2, 4, 9, torch.float64)),
        _masked_vocabulary(_case(seed, 9, "masked vocabulary, float32", 3, 3, 6, torch.float32)),
        with_layout(_case(seed, 10, "", 2, 5, 7, torch.float32), "non-contiguous logits", logits="sliced"),
        _same_labels(_case(seed, 11, "expanded labels", 3, 4, 6, torch.float64)),
        _small_probabilities(seed),
        _case(seed, 6, "logit gaps of hundreds", 2, 3, 8, torch.float32, spread=200.0, extreme=True),
        _case(seed, 7, "logit gaps of thousands", 2, 3, 8, torch.float64, spread=2000.0, extreme=True),
    ]


def _pick(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return values.gather(-1, labels.unsqueeze(-1)).squeeze(-1)


# The wrong computations of the catalogued mistakes (see grader/catalog/get_probs.py).
MODELS = {
    "log(softmax) instead of log_softmax":
        lambda logits, labels: {"logps": _pick(torch.log(torch.softmax(logits, -1)), labels)},
    "softmax over the wrong dimension":
        lambda logits, labels: [{"logps": _pick(torch.log_softmax(logits, d), labels)} for d in (1, 0)],
    "probabilities instead of log-probabilities":
        lambda logits, labels: {"logps": _pick(torch.softmax(logits, -1), labels)},
    "logits gathered without normalising":
        lambda logits, labels: {"logps": _pick(logits, labels)},
    "one_hot * log_softmax: NaN where a logit is -inf":
        lambda logits, labels: {"logps": (F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
                                          * torch.log_softmax(logits, -1)).sum(-1)},
}


def _formula(k, logits, labels):
    """log_softmax + gather with its conventions as knobs (grader.checks.conventions)."""
    values = {"log_softmax": torch.log_softmax(logits, -1), "softmax": torch.softmax(logits, -1), "none": logits,
              "dim1": torch.log_softmax(logits, 1), "dim0": torch.log_softmax(logits, 0)}[k["normalise"]]
    if k["labels"] == "next":
        labels = torch.roll(labels, -1, 1)
    out = _pick(values, labels)
    return {"logps": out if k["sign"] == "+" else -out}


_WRONG_DIM = "softmax over the wrong dimension"
CONVENTIONS = Conventions(_formula, (
    Knob("normalise", "log_softmax", {"softmax": "probabilities instead of log-probabilities",
                                      "none": "logits gathered without normalising", "dim1": _WRONG_DIM,
                                      "dim0": _WRONG_DIM}),
    Knob("labels", "same", {"next": "labels shifted by one position (get_probs has no shift)"}),
    sign_knob("sign", "negative log-probabilities (the NLL) instead of log-probabilities"),
))

SPEC = FunctionSpec(
    function="get_probs",
    params=(Param("logits"), Param("labels")),
    outputs=("logps",),
    grad_inputs=("logits",),
    make_cases=make_cases,
    models=MODELS,
    conventions=CONVENTIONS,
)
