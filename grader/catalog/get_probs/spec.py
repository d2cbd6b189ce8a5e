"""get_probs: seeded cases and the catalogued mistakes."""
from __future__ import annotations

import torch

from grader.checks.function import FunctionSpec, Param
from grader.checks.cases import Case, generator


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


def make_cases(seed: int) -> list[Case]:
    return [
        _case(seed, 1, "basic", 2, 5, 11, torch.float32),
        _case(seed, 2, "float64", 3, 4, 7, torch.float64),
        _case(seed, 3, "B=1, T=1", 1, 1, 5, torch.float32),
        _case(seed, 4, "tiny", 1, 3, 4, torch.float64),
        _case(seed, 5, "larger vocabulary", 2, 6, 50, torch.float32),
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
}

SPEC = FunctionSpec(
    function="get_probs",
    params=(Param("logits"), Param("labels")),
    outputs=("logps",),
    grad_inputs=("logits",),
    make_cases=make_cases,
    models=MODELS,
)
