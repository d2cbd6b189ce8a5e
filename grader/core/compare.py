"""Small comparison functions that return explanations, never booleans alone.

Modelled on pytest's approx report: mismatched elements out of total, the largest
absolute and relative difference and where they are.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from grader.core.tolerances import tolerance


def fmt_shape(t: torch.Tensor) -> str:
    return f"[{', '.join(str(s) for s in t.shape)}]"


def fmt_type(t: torch.Tensor) -> str:
    return f"{fmt_shape(t)} {str(t.dtype).replace('torch.', '')}"


def fmt_num(x: float) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:.4g}" if 1e-3 <= a < 1e5 else f"{x:.3e}"


def fmt_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]" if idx else "(scalar)"


@dataclass
class Comparison:
    ok: bool
    mismatched: int = 0
    total: int = 0
    worst_index: tuple[int, ...] = ()
    got_at: float = 0.0
    expected_at: float = 0.0
    max_abs: float = 0.0
    max_rel: float = 0.0
    problem: str = ""  # a structural problem (shape, dtype, not a tensor) instead of values

    def explain(self, what: str) -> str:
        if self.problem:
            return f"{what}: {self.problem}"
        if self.total == 1:
            return (f"{what}: expected {fmt_num(self.expected_at)}, got {fmt_num(self.got_at)} "
                    f"(abs diff {fmt_num(self.max_abs)})")
        return (f"{what}: {self.mismatched} / {self.total} elements differ; worst at {fmt_index(self.worst_index)}: "
                f"expected {fmt_num(self.expected_at)}, got {fmt_num(self.got_at)} "
                f"(largest abs diff {fmt_num(self.max_abs)}, largest rel diff {fmt_num(self.max_rel)})")


def compare(got: object, expected: torch.Tensor, scale: float = 1.0) -> Comparison:
    """Compare `got` with `expected` at the tolerance of `expected`'s dtype.

    Infinities must match exactly; NaN in `got` never matches a number. `got` is cast to
    float64 for the arithmetic so that the report itself loses nothing.
    """
    if not isinstance(got, torch.Tensor):
        return Comparison(False, problem=f"expected a tensor {fmt_type(expected)}, got {type(got).__name__}")
    if got.shape != expected.shape:
        return Comparison(False, problem=f"expected shape {fmt_shape(expected)}, got {fmt_shape(got)}")
    if got.is_complex() or not (got.is_floating_point() or got.dtype == expected.dtype):
        return Comparison(False, problem=f"expected dtype {expected.dtype}, got {got.dtype}")
    rtol, atol = tolerance(str(expected.dtype), scale)
    g = got.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    total = e.numel()
    # isclose counts equal values (equal infinities) and, with equal_nan, NaN against NaN as close
    if torch.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return Comparison(True, 0, total)
    close = torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    diff = (g - e).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    diff = torch.where(close, torch.zeros_like(diff), diff)
    rel = torch.where(e != 0, diff / e.abs(), torch.where(diff > 0, float("inf"), 0.0))
    flat = int(torch.argmax(diff.reshape(-1)))
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), e.shape)) if e.dim() else ()
    return Comparison(
        False,
        mismatched=int((~close).sum()),
        total=total,
        worst_index=idx,
        got_at=float(g.reshape(-1)[flat]),
        expected_at=float(e.reshape(-1)[flat]),
        max_abs=float(diff.max()),
        max_rel=float(rel.max()),
    )


def equal_exactly(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality of values, NaN equal to NaN (for 'inputs unchanged')."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point():
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return bool(torch.equal(a, b))
