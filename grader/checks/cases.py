"""Seeded input generators shared by the katas' case lists."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inputs": self.inputs, "options": self.options, "extreme": self.extreme,
                "scale": self.scale, "upstream": self.upstream, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Case":
        return cls(**d)

    @property
    def dtype(self) -> torch.dtype:
        return next(t.dtype for t in self.inputs.values() if t.is_floating_point())

    def describe(self) -> str:
        return f"'{self.name}' ({self.note})" if self.note else f"'{self.name}'"


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
