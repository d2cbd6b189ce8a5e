"""Seeded input generators shared by the katas' case lists."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Any

import torch


@dataclass
class Case:
    """One call of the function under test.

    `inputs` are passed positionally in order; `options` as keywords (an absent option
    tests the default). `extreme` cases are judged by the `stability` check and allow an
    absolute error that grows with `scale`, the magnitude of their inputs.
    """

    name: str
    inputs: dict[str, torch.Tensor]
    options: dict[str, Any] = field(default_factory=dict)
    extreme: bool = False
    scale: float = 1.0
    upstream: torch.Tensor | None = None  # gradient fed to a non-scalar output's backward
    note: str = ""
    # input name -> how the tensor is laid out in memory when passed (`LAYOUTS`): the same values
    # as a non-contiguous or expanded tensor, as real code produces them (`logits[:, :-1]`).
    # The one way a case asks for a layout: its own tensors are contiguous, and each call gets
    # fresh copies in the layout named here (grader.checks.probe.run_case).
    layout: dict[str, str] = field(default_factory=dict)
    # An optional input this case leaves out -> its position among the positional arguments:
    # None is passed there (grpo's ref_logps when beta == 0). The checks never see it.
    absent: dict[str, int] = field(default_factory=dict)
    # What the grader's own functions (mistake models, convention formulas) give on this case,
    # by key: computed once per run, however many submissions are judged against it. Not sent
    # to a child, not compared.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs, "options": self.options, "extreme": self.extreme,
                "scale": self.scale, "upstream": self.upstream, "note": self.note, "layout": dict(self.layout),
                "absent": dict(self.absent)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Case":
        return cls(**d)

    @property
    def dtype(self) -> torch.dtype:
        return next(t.dtype for t in self.inputs.values() if t.is_floating_point())

    def describe(self) -> str:
        return f"'{self.name}' ({self.note})" if self.note else f"'{self.name}'"


def _sliced(t: torch.Tensor) -> torch.Tensor:
    """`big[:, :-1]` of a tensor one longer in dim 1: what a shift produces. A slice of a vector
    is contiguous, so a vector is passed `_strided`."""
    if t.dim() < 2:
        return _strided(t)
    shape = list(t.shape)
    shape[1] += 1
    big = torch.zeros(shape, dtype=t.dtype)
    big.narrow(1, 0, t.shape[1]).copy_(t)
    return big.narrow(1, 0, t.shape[1])


def _transposed(t: torch.Tensor) -> torch.Tensor:
    """The same values, stored with the first and last dimensions swapped (column-major); a
    vector, which has one dimension, is passed `_strided`."""
    return t.transpose(0, -1).contiguous().transpose(0, -1) if t.dim() > 1 else _strided(t)


def _expanded(t: torch.Tensor) -> torch.Tensor:
    """Row 0 broadcast over the batch (stride 0): in-place writes raise, `.view` may."""
    if not bool((t == t[:1]).all()):
        raise ValueError("an expanded input needs equal rows")  # the grader's own case is wrong
    return t[:1].expand_as(t)


def _strided(t: torch.Tensor) -> torch.Tensor:
    """`big[..., 1::2]` of a tensor twice as long in its last dimension: a step of 2 and an offset."""
    big = torch.zeros(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype)
    big[..., 1::2] = t
    return big[..., 1::2]


def _as_dtype(dtype: torch.dtype) -> Callable[[torch.Tensor], torch.Tensor]:
    """An integer mask, label or id tensor passed in another integer width (a statement's "int"
    is any width): the values must fit, or the grader's own case is wrong."""
    def convert(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f"only an integer tensor is passed as {dtype}")
        out = t.to(dtype)
        if not torch.equal(out.to(t.dtype), t):
            raise ValueError(f"the case's values do not fit {dtype}")
        return out
    return convert


# A layout names how a call receives the case's tensor: its memory layout, or (for integer
# tensors) its integer width.
LAYOUTS = {"sliced": _sliced, "transposed": _transposed, "expanded": _expanded, "strided": _strided,
           "int32": _as_dtype(torch.int32), "int16": _as_dtype(torch.int16), "int8": _as_dtype(torch.int8),
           "uint8": _as_dtype(torch.uint8)}


def laid_out(case: Case, name: str, t: torch.Tensor) -> torch.Tensor:
    """`t` (a fresh copy of input or tensor option `name`) in the memory layout `case` asks for."""
    kind = case.layout.get(name)
    return LAYOUTS[kind](t) if kind else t


def with_layout(case: Case, name: str, **layout: str) -> Case:
    """A copy of `case` called `name` whose inputs are passed in `layout` (input -> kind)."""
    note = case.note + "; " + ", ".join(f"{k} {v}" for k, v in layout.items())
    options = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in case.options.items()}
    return Case(name, {k: v.clone() for k, v in case.inputs.items()}, options, case.extreme, case.scale,
                case.upstream, note, {**case.layout, **layout}, dict(case.absent))


def generator(seed: int, salt: int) -> torch.Generator:
    """A generator per (seed, case) so that adding a case never shifts the others."""
    return torch.Generator().manual_seed((seed * 1_000_003 + salt) % (2**63))


def response_mask(g: torch.Generator, batch: int, length: int, kind: str = "float",
                  prompt_max: int | None = None, min_response: int = 1) -> torch.Tensor:
    """[B, T] mask: zeros for a prompt prefix, ones for the response, zeros for right padding."""
    mask = torch.zeros(batch, length)
    prompt_max = length - min_response if prompt_max is None else prompt_max
    for b in range(batch):
        start = int(torch.randint(0, max(1, min(prompt_max, length - min_response) + 1), (1,), generator=g))
        end = int(torch.randint(start + min_response, length + 1, (1,), generator=g))
        mask[b, start:end] = 1
    return cast_mask(mask, kind)


def cast_mask(mask: torch.Tensor, kind: str) -> torch.Tensor:
    return {"float": mask.float(), "bool": mask.bool(), "int": mask.long(), "double": mask.double()}[kind]


def token_logps(g: torch.Generator, batch: int, length: int, dtype: torch.dtype, scale: float = 3.0) -> torch.Tensor:
    """Plausible per-token log-probs: negative, mostly within a few nats of 0."""
    return -(torch.rand(batch, length, generator=g, dtype=torch.float64) * scale).to(dtype)


def on_grid(t: torch.Tensor, per_unit: int) -> torch.Tensor:
    """`t` rounded to multiples of 1/per_unit (a power of two). float32 holds such values exactly
    over the range a case uses, and their sums and differences too: code that computes in float32
    inside then meets the same inputs, and a case about a formula is not decided by rounding."""
    return (t * per_unit).round() / per_unit


def largest_last(case: Case) -> Case:
    """Every position's largest logit (input "logits", [..., V]) moved to the vocabulary's last
    id: a log-sum-exp taken over chunks of it meets its maximum last, so a running sum that is
    not rescaled shows."""
    logits = case.inputs["logits"]
    logits[..., -1] = logits.amax(-1) + 2.0
    case.note += ", each position's largest logit at the last id"
    return case


SMALL_PROBABILITY_UPSTREAM = 1e4


def small_probabilities(case: Case, logits: torch.Tensor) -> torch.Tensor:
    """For a case whose logits put most of the vocabulary at probabilities from 1e-5 down to
    1e-12 (a spread of 5, V = 64): its upstream gradient scaled by SMALL_PROBABILITY_UPSTREAM,
    so that their gradients (-g·p) reach the tolerance and a backward that drops small entries
    (a "sparse" softmax gradient) or flushes them shows. Returns each position's middle-ranked
    token, to be scored: g·(1 - p) then never comes from 1 - p cancelling, which float32
    inside could not get right."""
    case.upstream = case.upstream * SMALL_PROBABILITY_UPSTREAM
    case.note += f"; most probabilities below 1e-5, upstream gradient x{SMALL_PROBABILITY_UPSTREAM:g}"
    return logits.argsort(-1)[..., logits.shape[-1] // 2].contiguous()
