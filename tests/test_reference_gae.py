"""The reference GAE against values derived without it: a hand-computed row, the closed forms
at λ = 0, at λ = γ = 1 and for a single terminal reward, padding that holds garbage, rows of
512 tokens, γ and λ as ints, and what the grader's behaviour check makes of right and
wrong implementations."""
from __future__ import annotations

import importlib
import pytest
import torch

from grader import registry
from grader.catalog.gae.behaviour import ClosedFormBehaviour
from grader.core import workspace
from solutions.gae import gae
from tests.conftest import check, solution_source


def _lengths_mask(lengths, t, dtype=torch.float64):
    return (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).to(dtype)


def _random(lengths=(6, 4, 1, 0), t=6, dtype=torch.float64, seed=0, garbage=40.0):
    g = torch.Generator().manual_seed(seed)
    m = _lengths_mask(list(lengths), t)
    junk = lambda: garbage * torch.randn(len(lengths), t, generator=g, dtype=torch.float64)
    r = torch.where(m.bool(), torch.randn(len(lengths), t, generator=g, dtype=torch.float64), junk())
    v = torch.where(m.bool(), torch.randn(len(lengths), t, generator=g, dtype=torch.float64), junk())
    return r.to(dtype), v.to(dtype), m


def test_hand_computed_row():
    # γ = 0.9, λ = 0.5, response of 3 tokens then one pad token holding garbage.
    # δ_2 = 2 - 0.1 = 1.9 (nothing after the last token);      A_2 = 1.9
    # δ_1 = 0 + 0.9·0.1 - 0.2 = -0.11;                          A_1 = -0.11 + 0.45·1.9 = 0.745
    # δ_0 = 1 + 0.9·0.2 - 0.5 = 0.68;                           A_0 = 0.68 + 0.45·0.745 = 1.01525
    r = torch.tensor([[1.0, 0.0, 2.0, 99.0]], dtype=torch.float64)
    v = torch.tensor([[0.5, 0.2, 0.1, 77.0]], dtype=torch.float64)
    adv, ret = gae(r, v, torch.tensor([[1, 1, 1, 0]]), gamma=0.9, lam=0.5)
    assert adv[0].tolist() == pytest.approx([1.01525, 0.745, 1.9, 0.0], rel=1e-14)
    assert ret[0].tolist() == pytest.approx([1.51525, 0.945, 2.0, 0.0], rel=1e-14)


def test_defaults_are_gamma_one_lambda_095():
    r, v, m = _random()
    for a, b in zip(gae(r, v, m), gae(r, v, m, gamma=1.0, lam=0.95)):
        assert torch.equal(a, b)


def test_lambda_zero_gives_the_td_errors():
    r, v, m = _random(seed=1)
    gamma = 0.9
    adv, _ = gae(r, v, m, gamma=gamma, lam=0.0)
    rm, vm = r * m, v * m
    next_v = torch.cat([vm[:, 1:], torch.zeros(4, 1, dtype=vm.dtype)], 1)
    next_m = torch.cat([m[:, 1:], torch.zeros(4, 1, dtype=m.dtype)], 1)
    torch.testing.assert_close(adv, (rm + gamma * next_v * next_m - vm) * m, rtol=0, atol=1e-15)


def test_lambda_and_gamma_one_give_reward_to_go_minus_v():
    r, v, m = _random(seed=2)
    adv, ret = gae(r, v, m, gamma=1.0, lam=1.0)
    rtg = torch.stack([torch.tensor([float((r[b, t:] * m[b, t:]).sum()) for t in range(6)]) for b in range(4)])
    torch.testing.assert_close(adv, (rtg.to(r.dtype) - v) * m)
    torch.testing.assert_close(ret, rtg.to(r.dtype) * m)  # the Monte Carlo return


@pytest.mark.parametrize("gamma,lam", [(0.9, 0.8), (1.0, 0.95), (0.5, 1.0)])
def test_single_terminal_reward_decays_as_gamma_lambda_power(gamma, lam):
    lengths, t, reward = [7, 4, 1], 7, 1.5
    m = _lengths_mask(lengths, t)
    r = torch.zeros(3, t, dtype=torch.float64)
    for b, n in enumerate(lengths):
        r[b, n - 1] = reward
    adv, ret = gae(r, torch.zeros_like(r), m, gamma=gamma, lam=lam)
    steps = (torch.tensor(lengths).unsqueeze(1) - 1 - torch.arange(t)).clamp(min=0).to(torch.float64)
    torch.testing.assert_close(adv, (gamma * lam) ** steps * reward * m, rtol=1e-14, atol=0)
    torch.testing.assert_close(ret, adv)


def test_returns_minus_values_equals_advantages_on_response_tokens():
    r, v, m = _random(seed=3)
    adv, ret = gae(r, v, m, gamma=0.97, lam=0.9)
    torch.testing.assert_close((ret - v) * m, adv)
    assert bool((adv[~m.bool()] == 0).all()) and bool((ret[~m.bool()] == 0).all())


def test_garbage_at_padding_changes_nothing():
    r, v, m = _random(seed=4)
    want = gae(r, v, m, gamma=0.9, lam=0.7)
    pad = ~m.bool()
    for fill in (0.0, 1e4, -3.5):
        got = gae(r.masked_fill(pad, fill), v.masked_fill(pad, -fill), m, gamma=0.9, lam=0.7)
        for a, b in zip(got, want):
            assert torch.equal(a, b)
    # Appending padding columns changes nothing either.
    extra = torch.randn(4, 3, dtype=torch.float64) * 50
    got = gae(torch.cat([r, extra], 1), torch.cat([v, -extra], 1), torch.cat([m, torch.zeros(4, 3)], 1), 0.9, 0.7)
    for a, b in zip(got, want):
        assert torch.equal(a[:, :6], b) and bool((a[:, 6:] == 0).all())


def test_an_empty_row_is_all_zeros_and_rows_are_independent():
    r, v, m = _random(seed=5)
    adv, ret = gae(r, v, m, gamma=0.9, lam=0.8)
    assert torch.equal(adv[3], torch.zeros(6, dtype=torch.float64)) and torch.equal(ret[3], adv[3])
    for b in range(4):
        a1, r1 = gae(r[b:b + 1], v[b:b + 1], m[b:b + 1], gamma=0.9, lam=0.8)
        assert torch.equal(a1[0], adv[b]) and torch.equal(r1[0], ret[b])


@pytest.mark.parametrize("mask_dtype", [torch.bool, torch.int64, torch.float32, torch.float64])
def test_mask_dtypes_agree_and_outputs_keep_the_input_dtype(mask_dtype):
    r, v, m = _random(dtype=torch.float32, seed=6)
    adv, ret = gae(r, v, m.to(mask_dtype), gamma=0.95, lam=0.9)
    assert adv.dtype == ret.dtype == torch.float32 and adv.shape == ret.shape == (4, 6)
    want = gae(r, v, m, gamma=0.95, lam=0.9)
    assert torch.equal(adv, want[0]) and torch.equal(ret, want[1])


def test_outputs_carry_no_graph_and_inputs_are_unchanged():
    r, v, m = _random(seed=7)
    r.requires_grad_(True)
    v.requires_grad_(True)
    before = (r.detach().clone(), v.detach().clone())
    adv, ret = gae(r, v, m)
    assert not adv.requires_grad and adv.grad_fn is None and not ret.requires_grad and ret.grad_fn is None
    assert torch.equal(r.detach(), before[0]) and torch.equal(v.detach(), before[1])


@pytest.mark.parametrize("dtype,gamma,lam", [(torch.float32, 0.99, 0.75), (torch.float64, 0.9, 0.25),
                                             (torch.float32, 1.0, 0.95)])
def test_rows_of_512_tokens_match_the_discounted_sum(dtype, gamma, lam):
    """A_t = Σ_{k>=t} (γλ)^(k-t) δ_k, summed in float64 with non-negative exponents only."""
    r, v, m = _random(lengths=(512, 400, 301), t=512, dtype=dtype, seed=8)
    adv, ret = gae(r, v, m, gamma=gamma, lam=lam)
    assert bool(torch.isfinite(adv).all())
    r64, v64 = r.double() * m, v.double() * m
    next_v = torch.cat([v64[:, 1:], torch.zeros(3, 1, dtype=torch.float64)], 1)
    next_m = torch.cat([m[:, 1:], torch.zeros(3, 1, dtype=torch.float64)], 1)
    delta = (r64 + gamma * next_v * next_m - v64) * m
    k = torch.arange(512)
    gap = (k.unsqueeze(0) - k.unsqueeze(1)).clamp(min=0).to(torch.float64)
    discount = torch.where(k.unsqueeze(0) >= k.unsqueeze(1), (gamma * lam) ** gap, torch.zeros(()).double())
    want = delta @ discount.T
    tol = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}[dtype]
    torch.testing.assert_close(adv.double(), want, **tol)


@pytest.mark.parametrize("gamma,lam", [(0, 1), (1, 0), (0, 0), (1, 1)])
def test_gamma_and_lambda_as_ints_are_their_floats(gamma, lam):
    r, v, m = _random(seed=10)
    got, want = gae(r, v, m, gamma=gamma, lam=lam), gae(r, v, m, gamma=float(gamma), lam=float(lam))
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_rows_of_512_tokens_at_gamma_lambda_one_are_reward_to_go_minus_v():
    """At γ = λ = 1 nothing discounts the tail: A_t = Σ_{k>=t} r_k - V_t over the whole row, exact
    in float32 on inputs on a grid of 2^-8 (every partial sum is representable)."""
    r, v, m = _random(lengths=(512, 470), t=512, dtype=torch.float32, seed=11)
    r, v = (r * 256).round() / 256, (v * 256).round() / 256
    adv, _ = gae(r, v, m, gamma=1.0, lam=1.0)
    rm = r.double() * m
    want = (rm.flip(1).cumsum(1).flip(1) - v.double()) * m
    assert torch.equal(adv.double(), want)


def _battery(seeds=range(3)):
    return [case for seed in seeds for case in importlib.import_module("grader.catalog.gae.spec").make_cases(seed)]


def test_every_float_mask_has_the_rewards_dtype():
    """The statement says a float mask has the rewards' dtype: code that trusts it (outputs
    allocated like the mask) is right, so no case may pair a float32 mask with float64 rewards."""
    for case in _battery():
        mask, rewards = case.inputs["mask"], case.inputs["rewards"]
        assert not mask.is_floating_point() or mask.dtype == rewards.dtype == case.inputs["values"].dtype, case.name


def test_every_mask_kind_meets_both_float_dtypes_at_every_seed():
    """"int" is any integer width: float, bool, int64, int32, int16, int8 and uint8 masks each
    meet float32 and float64 rewards at every seed (a mask cast to a fixed float dtype, or one
    width missed by a dispatch, shows only there)."""
    kinds = importlib.import_module("grader.catalog.gae.cases").MASK_KINDS
    named = {torch.float32: "float", torch.float64: "float", torch.bool: "bool", torch.int64: "int"}
    for seed in range(3):
        met = {(case.layout.get("mask", named[case.inputs["mask"].dtype]), case.inputs["rewards"].dtype)
               for case in _battery([seed]) if case.layout.get("mask") != "expanded"}
        want = {(kind, dtype) for kind in kinds for dtype in (torch.float32, torch.float64)}
        assert want <= met, sorted(map(str, want - met))


def test_padding_reaches_the_dtype_s_largest_values():
    """The statement allows any finite number at padding: in each dtype a case holds numbers
    near its largest there, with rewards and values of opposite signs (r - V overflows), and
    the reference's outputs stay finite."""
    for dtype in (torch.float32, torch.float64):
        case = next(c for c in _battery([0]) if c.inputs["rewards"].dtype == dtype
                    and float(c.inputs["rewards"].abs().max()) > 0.4 * torch.finfo(dtype).max)
        r, v, mask = case.inputs["rewards"], case.inputs["values"], case.inputs["mask"]
        pad = ~mask.bool()
        assert bool(torch.isfinite(r).all() and torch.isfinite(v).all())
        assert bool(torch.isinf(r[pad] - v[pad]).all())
        assert all(bool(torch.isfinite(o).all()) for o in gae(r, v, mask, **case.options))


def test_long_batches_without_padding_reach_the_closed_form_s_underflow():
    """A (γλ)^-t closed form taken only when no row is padded meets, in each dtype, a batch of
    full rows where (γλ)^t underflows to 0 before the row's end."""
    for dtype in (torch.float32, torch.float64):
        full = [c for c in _battery([0]) if c.inputs["rewards"].dtype == dtype and bool(c.inputs["mask"].bool().all())]
        gl = lambda c: torch.tensor(c.options.get("gamma", 1.0) * c.options.get("lam", 0.95), dtype=dtype)
        assert any(float(gl(c) ** (c.inputs["mask"].shape[1] - 1)) == 0.0 for c in full), dtype


def test_batches_past_a_micro_batch_of_256_rows():
    """`B // 256 or 1` micro-batches of 256 rows drop every row past 256: B = 257 at every seed."""
    for seed in range(3):
        assert any(c.inputs["rewards"].shape[0] == 257 for c in _battery([seed])), seed


def test_gamma_lambda_one_reaches_the_longest_stated_row():
    """At γ = λ = 1 nothing discounts the tail, so a horizon or window short of T = 512 (the stated
    limit) shows only on a full row of 512 tokens there."""
    for case in _battery():
        if case.options == {"gamma": 1.0, "lam": 1.0} and case.inputs["mask"].shape[1] == 512:
            assert bool(case.inputs["mask"][0].bool().all())
            return
    raise AssertionError("no case at γ = λ = 1 with rows of 512 tokens")


def test_behaviour_passes_the_reference_and_fails_wrong_implementations():
    behaviour = ClosedFormBehaviour()
    for seed in (0, 1, 2):
        assert behaviour.judge(behaviour.run(gae, seed)).status == "pass"

    def no_bootstrap(rewards, values, mask, gamma=1.0, lam=0.95):
        m = mask.to(rewards.dtype)
        r = rewards * m
        next_v = torch.cat([(values * m)[:, 1:] * m[:, 1:], torch.zeros_like(r[:, :1])], 1)
        return gae(r - gamma * next_v, values, mask, gamma, lam)  # cancels γV_{t+1}: δ_t = r_t - V_t

    def unmasked_returns(rewards, values, mask, gamma=1.0, lam=0.95):
        adv, _ = gae(rewards, values, mask, gamma, lam)
        return adv, adv + values

    result = behaviour.judge(behaviour.run(no_bootstrap, 0))
    assert result.status == "fail" and "λ = 0 should give the one-step TD errors" in result.message
    result = behaviour.judge(behaviour.run(unmasked_returns, 0))
    assert result.status == "fail" and "appending padding" in result.message


def test_reference_passes_the_grader(grade_one):
    result = grade_one("gae", solution_source("gae"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    judged = check(result, "behaviour").details["judged"]
    assert set(judged) == {"td_error", "monte_carlo_error", "returns_minus_values_error", "padding_change",
                           "single_reward_error"}
    assert max(judged.values()) < 1e-12


def test_stub_is_not_started_and_shipped_as_generated(grade_one, generated_stubs):
    kata = registry.get("gae")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_expanded_and_sliced_inputs_reach_the_submission(grade_one):
    """`.view` on an expanded mask or a sliced reward tensor raises: the battery's layout cases
    must arrive with their strides."""
    source = solution_source("gae").replace("m = mask.to(rewards.dtype)  # [B, T]",
                                            "m = mask.view(-1).view(mask.shape).to(rewards.dtype)  # [B, T]")
    assert "mask.view(-1)" in source
    c = check(grade_one("gae", source), "values")
    assert c.status == "fail" and "view size is not compatible" in c.message  # a failure the grader explains:
    assert "Diagnosis: `.view(...)` raises on a non-contiguous input" in c.message
    graded = sum(not c.extreme for c in importlib.import_module("grader.catalog.gae.spec").SPEC.make_cases(0))
    assert f"(2 of {graded} cases raised)" in c.message  # the sliced mask and the expanded one


UNCATALOGUED = {
    # Values left unmasked and the next value masked by m_t instead of m_{t+1}: the pad token's
    # value leaks in at each row's last token.
    "the value after the last token taken from padding": [
        ("r, v = rewards * m, values * m", "r, v = rewards * m, values"),
        ("next_value * next_m", "next_value * m[:, t]")],
    # Whitened with torch.std (Bessel) over the response tokens.
    "advantages whitened": [
        ("    returns = (advantages + v) * m  # [B, T]\n",
         "    returns = (advantages + v) * m  # [B, T]\n    sel = advantages[m.bool()]\n"
         "    advantages = (advantages - sel.mean()) / (sel.std() + 1e-8) * m\n")],
    # Nothing masked inside the recursion; only the outputs, at the end.
    "mask ignored (garbage padding leaks)": [
        ("    r, v = rewards * m, values * m  # [B, T]\n",
         "    r, v = rewards, values  # [B, T]\n    m_out = m\n    m = torch.ones_like(m)\n"),
        ("    returns = (advantages + v) * m  # [B, T]\n    return advantages, returns",
         "    return advantages * m_out, (advantages + v) * m_out")],
}


@pytest.mark.parametrize("name", list(UNCATALOGUED))
def test_uncatalogued_forms_of_catalogued_mistakes_are_named(name, grade_one):
    source = solution_source("gae")
    for old, new in UNCATALOGUED[name]:
        assert old in source
        source = source.replace(old, new)
    c = check(grade_one("gae", source), "values")
    assert c.status == "fail" and c.mistake == name, c.message
