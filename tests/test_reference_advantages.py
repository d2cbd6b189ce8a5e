"""solutions/advantages.py against hand-computed values, closed forms and invariances; the
behaviour run passes the reference and fails wrong implementations; the grader's verdicts."""
from __future__ import annotations

import importlib
import math
import types

import pytest
import torch

from grader import registry
from solutions.advantages import group_advantages, rloo_advantages
from tests.conftest import check, mistake_model_problems, solution_source

D = torch.float64
SPEC = importlib.import_module("grader.catalog.advantages.spec").SPEC


def test_hand_computed_two_groups_of_two():
    r = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=D)
    # groups [1, 2] and [3, 4]: means 1.5 and 3.5, deviations ±0.5, Bessel std sqrt(0.5)
    s = math.sqrt(0.5)
    want = [-0.5 / (s + 1e-4), 0.5 / (s + 1e-4)] * 2
    assert group_advantages(r, 2).tolist() == pytest.approx(want, abs=1e-12)
    assert group_advantages(r, 2, scale="none").tolist() == pytest.approx([-0.5, 0.5, -0.5, 0.5], abs=1e-12)
    # the batch's Bessel std of 1, 2, 3, 4 is sqrt(5/3); the group means are still subtracted
    b = math.sqrt(5 / 3)
    assert group_advantages(r, 2, scale="batch").tolist() == pytest.approx([-0.5 / (b + 1e-4), 0.5 / (b + 1e-4)] * 2,
                                                                            abs=1e-12)
    # RLOO: each minus the other one
    assert rloo_advantages(r, 2).tolist() == pytest.approx([-1.0, 1.0, -1.0, 1.0], abs=1e-12)


def test_hand_computed_binary_group_with_custom_eps():
    r = torch.tensor([1.0, 0.0, 0.0], dtype=D)
    # mean 1/3; Bessel variance ((2/3)² + 2·(1/3)²) / 2 = 1/3
    s = math.sqrt(1 / 3)
    got = group_advantages(r, 3, eps=0.5)
    assert got.tolist() == pytest.approx([(2 / 3) / (s + 0.5), (-1 / 3) / (s + 0.5), (-1 / 3) / (s + 0.5)], abs=1e-12)
    # leave-one-out: 1 - 0, 0 - (1 + 0)/2, 0 - (1 + 0)/2
    assert rloo_advantages(r, 3).tolist() == pytest.approx([1.0, -0.5, -0.5], abs=1e-12)


def test_groups_are_contiguous_rows():
    r = torch.tensor([0.0, 0.0, 10.0, 10.0], dtype=D)  # two groups of equal rewards: all zeros
    assert group_advantages(r, 2).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert rloo_advantages(r, 2).tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equal_rewards_give_zeros_not_nan(scale, dtype):
    r = torch.ones(6, dtype=dtype)
    out = group_advantages(r, 3, scale=scale)
    assert out.dtype == dtype and out.tolist() == [0.0] * 6


def test_invariances_and_closed_forms():
    g = torch.Generator().manual_seed(0)
    G = 5
    r = (torch.randn(4, G, generator=g, dtype=D) * torch.tensor([[0.5], [1.0], [2.0], [3.0]])).reshape(-1)
    for scale in ("group", "batch", "none"):
        torch.testing.assert_close(group_advantages(r, G, scale).reshape(4, G).sum(1), torch.zeros(4, dtype=D),
                                   rtol=0, atol=1e-12)
    s = r.reshape(4, G).std(1)
    torch.testing.assert_close(group_advantages(r, G).reshape(4, G).std(1), s / (s + 1e-4), rtol=1e-12, atol=0)
    shifted = r.clone()
    shifted[G:2 * G] += 7.0
    for scale in ("group", "none"):
        torch.testing.assert_close(group_advantages(shifted, G, scale), group_advantages(r, G, scale), rtol=0,
                                   atol=1e-12)
    assert (group_advantages(shifted, G, "batch") - group_advantages(r, G, "batch")).abs().max() > 0.1
    torch.testing.assert_close(group_advantages(3 * r, G, "none"), 3 * group_advantages(r, G, "none"))
    torch.testing.assert_close(group_advantages(3 * r, G, "group"), group_advantages(r, G, "group"), rtol=0, atol=1e-3)
    torch.testing.assert_close(rloo_advantages(r, G), G / (G - 1) * group_advantages(r, G, "none"), rtol=0, atol=1e-12)


def test_outputs_carry_no_graph_and_inputs_are_untouched():
    r = torch.randn(6, dtype=D, requires_grad=True)
    before = r.detach().clone()
    for out in (group_advantages(r, 3), group_advantages(r, 2, "batch"), rloo_advantages(r, 3)):
        assert not out.requires_grad and out.grad_fn is None
    assert torch.equal(r.detach(), before)


@pytest.mark.parametrize("call, words", [
    (lambda: group_advantages(torch.zeros(6, 1), 3), "1-D"),
    (lambda: group_advantages(torch.zeros(6), 1), "at least 2"),
    (lambda: group_advantages(torch.zeros(6), 4), "do not split"),
    (lambda: group_advantages(torch.zeros(6), 3, scale="std"), "unknown scale 'std'"),
    (lambda: group_advantages(torch.zeros(6), 3, scale=True), "unknown scale True"),  # TRL's old boolean
    (lambda: group_advantages(torch.zeros(6), 3, scale=False), "unknown scale False"),
    (lambda: group_advantages(torch.zeros(6), 3, scale="group_norm"), "unknown scale 'group_norm'"),  # OpenRLHF
    (lambda: group_advantages(torch.zeros(2, 3), 3), "1-D"),  # already grouped [n, G]
    (lambda: group_advantages(torch.zeros(2, 3, 1), 3), "1-D"),  # a reward head's [n, G, 1]
    (lambda: group_advantages(torch.zeros(12), -4), "at least 2"),  # 12 % -4 == 0
    (lambda: rloo_advantages(torch.zeros(12), -1), "at least 2"),
    (lambda: rloo_advantages(torch.zeros(2, 3), 3), "1-D"),
    (lambda: rloo_advantages(torch.zeros(()), 2), "1-D"),
    (lambda: rloo_advantages(torch.zeros(6), 1), "at least 2"),
    (lambda: rloo_advantages(torch.zeros(6), 5), "do not split"),
])
def test_bad_inputs_raise_value_error_saying_what(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# ---------------------------------------------------------------- behaviour
def _module(group=group_advantages, rloo=rloo_advantages):
    return types.SimpleNamespace(group_advantages=group, rloo_advantages=rloo)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_behaviour_passes_the_reference(seed):
    r = SPEC.behaviour.judge(SPEC.behaviour.run(_module(), seed))
    assert r.status == "pass", r.message
    judged = r.details["judged"]
    assert judged["group_sum_max"] < 1e-12 and judged["rloo_error"] < 1e-12
    assert judged["shift_change_batch"] > 0.1 and judged["scale_change_group"] < 2.8e-4
    assert r.details["series"] == [] and len(judged["advantages_rloo"]) == 24


def test_behaviour_fails_batch_statistics_for_group():
    def batch_for_group(rewards, group_size, scale="group", eps=1e-4):
        if scale == "group":
            return (rewards - rewards.mean()) / (rewards.std() + eps)
        return group_advantages(rewards, group_size, scale, eps)

    r = SPEC.behaviour.judge(SPEC.behaviour.run(_module(group=batch_for_group), 0))
    assert r.status == "fail"
    assert "a group's advantages sum to" in r.message
    assert "shifting one group's rewards changed 'group'" in r.message


def test_behaviour_fails_rloo_with_the_plain_mean():
    r = SPEC.behaviour.judge(SPEC.behaviour.run(_module(rloo=lambda rw, G: group_advantages(rw, G, "none")), 0))
    assert r.status == "fail" and "RLOO differs from G/(G-1)" in r.message


def test_behaviour_fails_population_std():
    pop = lambda rw, G, scale="group", eps=1e-4: group_advantages(rw, G, scale, eps) * (
        math.sqrt(G / (G - 1)) if scale == "group" else 1.0)
    r = SPEC.behaviour.judge(SPEC.behaviour.run(_module(group=pop), 0))
    assert r.status == "fail" and "std is off s/(s + eps)" in r.message


# ---------------------------------------------------------------- the grader
def test_every_mistake_model_of_each_function_shows_on_every_seed():
    kata = registry.get("advantages")
    for part in SPEC.parts:
        reference = getattr(importlib.import_module(kata.solution), part.function)
        assert mistake_model_problems(part, reference, kata.mistakes, range(25)) == [], part.function


def test_batches_past_a_micro_batch_of_256_rows_in_both_functions():
    """Both functions meet B = G = 257 and B = 2049 (more rows than float16 counts exactly) at
    every seed, "batch" among them: a batch split into micro-batches of 256 shows."""
    spec = importlib.import_module("grader.catalog.advantages.cases")
    for seed in range(3):
        for cases in (spec.group_cases(seed), spec.rloo_cases(seed)):
            sizes = {(c.inputs["rewards"].shape[0], c.options["group_size"]) for c in cases}
            assert {(257, 257), (2049, 3)} <= sizes
        assert any(c.inputs["rewards"].shape[0] == 2049 and c.options.get("scale") == "batch"
                   for c in spec.group_cases(seed))


def test_bad_inputs_reach_every_rank_and_negative_sizes_under_every_scale():
    """Rewards of every rank but 1 (0-D, 2-D, 3-D) and group sizes below 2 (0, 1 and negative
    ones that divide B) are refused by both functions and, for group_advantages, under every
    scale: code that names the shapes or sizes it has seen passes the others."""
    spec = importlib.import_module("grader.catalog.advantages.cases")
    for bad in (spec.group_bad_inputs(0), spec.rloo_bad_inputs(0)):
        assert {c.inputs["rewards"].dim() for c in bad} >= {0, 2, 3}
        sizes = {c.options["group_size"] for c in bad}
        assert {0, 1} <= sizes and any(s < 0 and 12 % s == 0 for s in sizes)
    for scale in ("batch", "none"):
        bad = [c for c in spec.group_bad_inputs(0) if c.options.get("scale") == scale]
        assert any(c.inputs["rewards"].dim() == 3 for c in bad) and any(c.options["group_size"] < 0 for c in bad)
    for fn, bad in ((group_advantages, spec.group_bad_inputs(0)), (rloo_advantages, spec.rloo_bad_inputs(0))):
        for case in bad:
            with pytest.raises(ValueError):
                fn(case.inputs["rewards"], **case.options)


def test_binary_rewards_under_every_scale_and_in_rloo():
    """0/1 rewards meet every scale and RLOO at every seed, with a batch that is never all equal:
    a Bernoulli spread, sqrt(p(1 - p)), is the population std and shows wherever it is taken."""
    spec = importlib.import_module("grader.catalog.advantages.cases")
    for seed in range(25):
        for cases, scales in ((spec.group_cases(seed), {"group", "batch", "none"}), (spec.rloo_cases(seed), {None})):
            binary = [c for c in cases if bool(((c.inputs["rewards"] == 0) | (c.inputs["rewards"] == 1)).all())]
            assert {c.options.get("scale") for c in binary} >= scales, seed
            assert all(float(c.inputs["rewards"].std()) > 0 for c in binary), seed


def test_the_large_group_has_a_spread_half_precision_rounds():
    """The one group of 257 (the only G >= 64) has a mean and a spread that bfloat16 and float16
    round by more than float32's rtol: statistics of a big group taken in half precision show."""
    spec = importlib.import_module("grader.catalog.advantages.cases")
    for cases in (spec.group_cases(0), spec.rloo_cases(0)):
        r = next(c for c in cases if c.options["group_size"] >= 64).inputs["rewards"].double()
        for stat in (r.std(), r.mean()):
            for half in (torch.bfloat16, torch.float16):
                assert abs(float(stat.to(half).double() / stat - 1)) > 1e-4, (stat, half)


def test_reference_passes_every_check(grade_one):
    r = grade_one("advantages", solution_source("advantages"), seed=5)
    assert r.status == "pass", [(c.name, c.message) for c in r.failed_checks]
    values = check(r, "values").message
    assert values.startswith("group_advantages: all outputs match the reference on 19 cases")
    assert "| rloo_advantages: all outputs match the reference on 11 cases" in values
    assert check(r, "bad_input").status == "pass"


def test_one_wrong_function_fails_its_checks_by_name(grade_one):
    src = solution_source("advantages").replace(
        "others = (grouped.sum(dim=1, keepdim=True) - grouped) / (group_size - 1)",
        "others = grouped.mean(dim=1, keepdim=True)")
    r = grade_one("advantages", src)
    c = check(r, "values")
    assert c.status == "fail" and c.mistake == "RLOO including the reward itself in its baseline"
    assert c.message.startswith("rloo_advantages: case 'rloo_advantages: ")
    assert "group_advantages" not in c.message.split("|")[0].split(":")[0]
    assert check(r, "behaviour").status == "fail"
