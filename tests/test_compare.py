"""The comparison helpers that every value check reports through."""
from __future__ import annotations

import torch

from grader.core.compare import compare, equal_exactly
from grader.core.tolerances import TOLERANCES, tolerance


def test_tolerances_are_stated_once_per_dtype():
    assert set(TOLERANCES) == {"float32", "float64"}
    assert tolerance("torch.float64") == TOLERANCES["float64"]
    rtol, atol = tolerance("float32", scale=1000.0)
    assert (rtol, atol) == (TOLERANCES["float32"][0], TOLERANCES["float32"][1] * 1000.0)


def test_close_values_pass_and_report_nothing():
    e = torch.tensor([1.0, 2.0])
    assert compare(e + 1e-7, e).ok


def test_mismatch_reports_count_worst_index_and_differences():
    e = torch.zeros(2, 3, dtype=torch.float64)
    g = e.clone()
    g[1, 2] = 0.5
    g[0, 0] = 0.1
    cmp = compare(g, e)
    assert not cmp.ok
    assert (cmp.mismatched, cmp.total, cmp.worst_index) == (2, 6, (1, 2))
    assert cmp.explain("'x'") == ("'x': 2 / 6 elements differ; worst at [1, 2]: expected 0, got 0.5 "
                                  "(largest abs diff 0.5, largest rel diff inf)")


def test_scalar_message_and_nonfinite_handling():
    cmp = compare(torch.tensor(float("inf")), torch.tensor(3.0))
    assert not cmp.ok
    assert cmp.explain("'loss'") == "'loss': expected 3, got inf (abs diff inf)"
    assert compare(torch.tensor(float("inf")), torch.tensor(float("inf"))).ok
    assert not compare(torch.tensor(float("nan")), torch.tensor(1.0)).ok


def test_shape_and_type_problems():
    assert compare(torch.zeros(3), torch.zeros(2)).explain("'y'") == "'y': expected shape [2], got [3]"
    assert compare(1.0, torch.zeros(2)).explain("'y'") == "'y': expected a tensor [2] float32, got float"


def test_equal_exactly_treats_nan_as_equal_and_dtype_as_different():
    a = torch.tensor([1.0, float("nan")])
    assert equal_exactly(a, a.clone())
    assert not equal_exactly(a, a.double())
    assert not equal_exactly(a, torch.tensor([1.0, 2.0]))
