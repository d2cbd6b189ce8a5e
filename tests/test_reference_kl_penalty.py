"""The reference KL estimators against values derived without them: k1, k2, k3 at chosen d,
their closed-form gradients, exact expectations over small discrete distributions, the
contract's extreme range, and what the grader's behaviour and advisory checks make of it."""
from __future__ import annotations

import importlib
import math

import pytest
import torch

from grader import registry
from grader.catalog.kl_penalty.behaviour import EstimatorBehaviour
from grader.core import workspace
from grader.core.tolerances import K3_PRECISION_MAX_REL
from solutions.kl_penalty import kl_penalty
from tests.conftest import VARIANTS, check, solution_source


def _pair(ds, dtype=torch.float64, base=-1.5):
    """[1, N] logps and ref_logps whose log-ratio ref - logps is exactly `ds` (small integers and halves)."""
    logps = torch.full((1, len(ds)), base, dtype=dtype)
    return logps, logps + torch.tensor([ds], dtype=dtype)


def test_hand_computed_values():
    logps, ref = _pair([0.0, 1.0, -1.0, 0.5])
    assert kl_penalty(logps, ref, kind="k1").tolist() == [[0.0, -1.0, 1.0, -0.5]]
    assert kl_penalty(logps, ref, kind="k2").tolist() == [[0.0, 0.5, 0.5, 0.125]]
    k3 = kl_penalty(logps, ref, kind="k3")[0].tolist()
    want = [0.0, math.e - 2.0, 1.0 / math.e, math.exp(0.5) - 1.5]
    assert k3 == pytest.approx(want, rel=1e-15, abs=0)


def test_default_kind_is_k3():
    logps, ref = _pair([0.25, -2.0])
    assert torch.equal(kl_penalty(logps, ref), kl_penalty(logps, ref, kind="k3"))


def test_d_is_ref_minus_policy():
    """A token the reference finds likelier than the policy has d > 0 and k1 < 0."""
    logps = torch.tensor([[-3.0]], dtype=torch.float64)
    ref = torch.tensor([[-1.0]], dtype=torch.float64)
    assert float(kl_penalty(logps, ref, kind="k1")) == -2.0
    assert float(kl_penalty(logps, ref, kind="k3")) == pytest.approx(math.exp(2.0) - 3.0, rel=1e-15)


@pytest.mark.parametrize("kind", ["k4", "K3", "kl", "", None, "k3+", "low_var_kl", "mse", "abs", "full"])
def test_unknown_kind_raises_value_error_naming_the_three(kind):
    logps, ref = _pair([0.1])
    with pytest.raises(ValueError) as exc:
        kl_penalty(logps, ref, kind=kind)
    assert all(k in str(exc.value) for k in ("k1", "k2", "k3"))


def _discrete():
    """π = [1/2, 1/4, 1/4], π_ref = [1/4, 1/4, 1/2]: KL(π‖π_ref) = ½ln2 + 0 + ¼ln½ = ¼ln2."""
    pi = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    ref = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    return pi, pi.log().unsqueeze(0), ref.log().unsqueeze(0)


def test_k1_and_k3_are_unbiased_and_k2_is_not_on_a_discrete_distribution():
    pi, logps, ref = _discrete()
    kl = 0.25 * math.log(2)
    mean = {k: float((pi * kl_penalty(logps, ref, kind=k)[0]).sum()) for k in ("k1", "k2", "k3")}
    assert mean["k1"] == pytest.approx(kl, rel=1e-14)
    assert mean["k3"] == pytest.approx(kl, rel=1e-14)
    # E[k2] = ½·(ln ½)²/2 + ¼·(ln 2)²/2 = (3/8)(ln 2)²
    assert mean["k2"] == pytest.approx(0.375 * math.log(2) ** 2, rel=1e-14)
    assert mean["k2"] != pytest.approx(kl, rel=1e-2)


def test_k3_is_never_negative_and_k1_is_somewhere():
    pi, logps, ref = _discrete()
    assert bool((kl_penalty(logps, ref, kind="k3") >= 0).all())
    assert bool((kl_penalty(logps, ref, kind="k1") < 0).any())
    d = torch.linspace(-20, 20, 4001, dtype=torch.float64).unsqueeze(0)
    assert bool((kl_penalty(torch.zeros_like(d), d) >= 0).all())


@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
def test_gradients_closed_form(kind):
    g = torch.Generator().manual_seed(0)
    logps = (-3 * torch.rand(3, 5, generator=g, dtype=torch.float64)).requires_grad_(True)
    ref = (logps.detach() + torch.randn(3, 5, generator=g, dtype=torch.float64)).requires_grad_(True)
    upstream = torch.randn(3, 5, generator=g, dtype=torch.float64)
    g_lp, g_ref = torch.autograd.grad((kl_penalty(logps, ref, kind=kind) * upstream).sum(), (logps, ref))
    d = (ref - logps).detach()
    # dk/dd: k1 -> -1, k2 -> d, k3 -> e^d - 1; dd/dlogps = -1, dd/dref = +1.
    dk_dd = {"k1": -torch.ones_like(d), "k2": d, "k3": torch.exp(d) - 1}[kind]
    torch.testing.assert_close(g_lp, -dk_dd * upstream)
    torch.testing.assert_close(g_ref, dk_dd * upstream)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_contract_s_extreme_range(dtype):
    """|d| = 20 with log-probs of -200 and -180: exp(logps) is 0 in float32, the log-ratio is not."""
    logps = torch.tensor([[-180.0, -200.0, -20.0]], dtype=dtype)
    ref = torch.tensor([[-200.0, -180.0, 0.0]], dtype=dtype)
    d = [-20.0, 20.0, 20.0]
    assert kl_penalty(logps, ref, kind="k1")[0].tolist() == [20.0, -20.0, -20.0]
    assert kl_penalty(logps, ref, kind="k2")[0].tolist() == [200.0, 200.0, 200.0]
    k3 = kl_penalty(logps, ref, kind="k3")
    assert k3.dtype == dtype
    assert k3[0].tolist() == pytest.approx([math.exp(x) - 1 - x for x in d], rel=1e-6)


def test_small_d_keeps_its_digits_in_float32():
    d64 = torch.tensor([[1e-5, -1e-5, 3e-5, -2e-4, 7e-4]], dtype=torch.float64)
    logps = torch.full_like(d64, -1.0).float()
    ref = (logps.double() + d64).float()
    d = ref.double() - logps.double()  # what the float32 inputs hold, exactly
    series = d * d / 2 + d ** 3 / 6 + d ** 4 / 24
    rel = ((kl_penalty(logps, ref).double() - series) / series).abs()
    assert float(rel.max()) < K3_PRECISION_MAX_REL


def test_every_case_holds_log_probs_and_reaches_the_stated_range_of_d():
    """Both inputs are log-probs of sampled tokens (<= 0, down to -200): a positive one is no
    probability, and code that goes through probabilities (rightly, in float64) would meet inputs
    the contract never gives. d stays within ±2.5 in the value cases (k3 below 10, so a k3 clamped
    at 10 shows only in the stability cases) and reaches ±20 in the extreme ones."""
    spec = importlib.import_module("grader.catalog.kl_penalty.spec")
    for seed in range(6):
        cases = [c for c in spec.make_cases(seed) if c.inputs["logps"].numel()]
        for case in cases + spec.bad_inputs(seed):
            logps, ref = case.inputs["logps"], case.inputs["ref_logps"]
            assert bool((logps <= 0).all() and (ref <= 0).all() and (ref >= -200).all()), (seed, case.name)
        d = {c.extreme: 0.0 for c in cases}
        for c in cases:
            d[c.extreme] = max(d[c.extreme], float((c.inputs["ref_logps"].double() - c.inputs["logps"]).abs().max()))
        assert d[True] == 20.0 and 1.5 < d[False] <= 2.5 + 1e-5, (seed, d)  # 1e-5: float32's rounding


def test_a_batch_past_a_micro_batch_of_256_rows_and_1024_tokens():
    """`B // 256 or 1` micro-batches of 256 rows drop every row past 256, and a cache kept only
    for batches past 1024 tokens needs one: a case of B = 257 and over 1024 tokens at every seed."""
    spec = importlib.import_module("grader.catalog.kl_penalty.spec")
    for seed in range(3):
        assert any(c.inputs["logps"].shape[0] == 257 and c.inputs["logps"].numel() > 1024
                   for c in spec.make_cases(seed)), seed


def test_behaviour_passes_the_reference_and_fails_wrong_estimators():
    behaviour = EstimatorBehaviour()
    for seed in (0, 1, 2):
        assert behaviour.judge(behaviour.run(kl_penalty, seed)).status == "pass"

    def reversed_k3(logps, ref_logps, kind="k3"):  # KL(π_ref‖π)'s estimator: biased under π
        return kl_penalty(ref_logps, logps, kind="k3") if kind == "k3" else kl_penalty(logps, ref_logps, kind)

    def k3_for_k2(logps, ref_logps, kind="k3"):  # an unbiased "k2" is not d²/2
        return kl_penalty(logps, ref_logps, "k3" if kind == "k2" else kind)

    def k2_doubled(logps, ref_logps, kind="k3"):
        return 2 * kl_penalty(logps, ref_logps, kind) if kind == "k2" else kl_penalty(logps, ref_logps, kind)

    result = behaviour.judge(behaviour.run(reversed_k3, 0))
    assert result.status == "fail" and "E_π[k3]" in result.message and "should equal KL" in result.message
    result = behaviour.judge(behaviour.run(k3_for_k2, 0))
    assert result.status == "fail" and "this is not k2" in result.message
    result = behaviour.judge(behaviour.run(k2_doubled, 0))
    assert result.status == "fail" and "close pair: E_π[k2]" in result.message


def test_reference_passes_the_grader(grade_one):
    result = grade_one("kl_penalty", solution_source("kl_penalty"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    judged = check(result, "behaviour").details["judged"]
    for pair in ("close", "far"):
        assert judged[f"{pair}_mean_k1"] == pytest.approx(judged[f"{pair}_kl"], rel=1e-12)
        assert judged[f"{pair}_mean_k3"] == pytest.approx(judged[f"{pair}_kl"], rel=1e-12)
    assert check(result, "k3_precision").status == "pass"


def test_naive_k3_passes_with_advice(grade_one):
    """e^d - 1 - d is within the contract: the kata passes, and the advisory check says why not to."""
    result = grade_one("kl_penalty", (VARIANTS / "kl_penalty" / "dispatch_naive_k3.py").read_text())
    assert result.status == "pass"
    advice = check(result, "k3_precision")
    assert advice.status == "fail" and advice.advisory and "torch.expm1(d) - d" in advice.message
    assert advice.details["judged"]["worst_rel"] > 100 * K3_PRECISION_MAX_REL


def test_a_value_error_that_does_not_name_the_kinds_fails_bad_input(grade_one):
    source = solution_source("kl_penalty").replace(
        "raise ValueError(f\"unknown kind {kind!r}: expected one of 'k1', 'k2', 'k3'\")",
        "raise ValueError('bad kind')")
    assert "bad kind" in source
    c = check(grade_one("kl_penalty", source), "bad_input")
    assert c.status == "fail" and "should name the three kinds" in c.message


def test_stub_is_not_started_and_shipped_as_generated(grade_one, generated_stubs):
    kata = registry.get("kl_penalty")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_non_contiguous_inputs_reach_the_submission(grade_one):
    """`.view` on a slice raises: the battery's non-contiguous case must arrive as a slice."""
    source = solution_source("kl_penalty").replace("d = ref_logps - logps  # [B, T] log r",
                                                   "d = (ref_logps.view(-1) - logps.view(-1)).view(logps.shape)")
    assert ".view(-1)" in source
    c = check(grade_one("kl_penalty", source), "values")
    # Two sliced or transposed cases and two expanded ones: the four layout cases of the battery.
    assert c.status == "fail" and "view size is not compatible" in c.message  # a failure the grader explains:
    assert "Diagnosis: `.view(...)` raises on a non-contiguous input" in c.message
    graded = sum(not c.extreme for c in importlib.import_module("grader.catalog.kl_penalty.spec").SPEC.make_cases(0))
    assert f"(4 of {graded} cases raised)" in c.message


UNCATALOGUED = {
    # The reverse KL's k3 written with the log-ratio's sign flipped everywhere.
    "d with the wrong sign": ("return torch.expm1(d) - d  # [B, T]", "return torch.exp(-d) + d - 1"),
    "k2 without the ½": ("return 0.5 * d * d", "return (logps - ref_logps) ** 2"),
    "k1 with the sign flipped": ("return -d\n", "return ref_logps - logps\n"),
}


@pytest.mark.parametrize("name", list(UNCATALOGUED))
def test_uncatalogued_forms_of_catalogued_mistakes_are_named(name, grade_one):
    old, new = UNCATALOGUED[name]
    source = solution_source("kl_penalty")
    assert old in source
    c = check(grade_one("kl_penalty", source.replace(old, new)), "values")
    assert c.status == "fail" and c.mistake == name, c.message
