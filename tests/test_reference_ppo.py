"""The reference PPO loss against values derived without it: a hand-computed batch, the closed-form
gradients, the on-policy identity, ε = inf, an empty batch; the spec's cases keep their own
promises at every seed; the row combination; the behaviour check passes the reference and
fails wrong implementations."""
from __future__ import annotations

import math

import pytest
import torch

from grader.catalog.ppo import cases as ppo_cases
from grader.catalog.ppo import spec as ppo_spec
from grader.catalog.ppo.behaviour import PPOBehaviour
from grader.catalog.ppo.spec import SPEC, check_margins, combine_rows, make_cases
from grader.checks.cases import laid_out
from solutions.ppo import ppo_loss

F64 = torch.float64


def _hand_batch():
    # Five response tokens, ε = ε_v = 0.2 (the defaults); one padding position holding nonsense.
    #   ratio  A    -A·r   -A·clip(r)  max    clipped?   v     old_v   R     (v-R)²  (v_clip-R)²  max
    #   1.5    2    -3.0   -2.4        -2.4   yes        1.0   0.5     0.0   1.0     0.49         1.0
    #   0.5    1    -0.5   -0.8        -0.5   no         0.0   0.5     1.0   1.0     0.49         1.0
    #   1.0   -1     1.0    1.0         1.0   no (tie)   0.5   0.0     1.0   0.25    0.64         0.64
    #   0.5   -2     1.0    1.6         1.6   yes        0.1   0.0     0.0   0.01    0.01         0.01
    #   1.1    0     0      0           0     no        -1.0  -0.5    -0.6   0.16    0.01         0.16
    ratio = torch.tensor([[1.5, 0.5, 3.0], [1.0, 0.5, 1.1]], dtype=F64)
    old = torch.tensor([[-1.0, -2.0, -0.5], [-1.5, -0.7, -3.0]], dtype=F64)
    adv = torch.tensor([[2.0, 1.0, 5.0], [-1.0, -2.0, 0.0]], dtype=F64)
    values = torch.tensor([[1.0, 0.0, 9.0], [0.5, 0.1, -1.0]], dtype=F64)
    old_values = torch.tensor([[0.5, 0.5, -9.0], [0.0, 0.0, -0.5]], dtype=F64)
    returns = torch.tensor([[0.0, 1.0, 4.0], [1.0, 0.0, -0.6]], dtype=F64)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    return old + ratio.log(), old, adv, values, old_values, returns, mask


def test_hand_computed_batch():
    loss, policy, value, frac = ppo_loss(*_hand_batch())
    want_policy = (-2.4 - 0.5 + 1.0 + 1.6 + 0.0) / 5  # token mean over the 5 response tokens
    want_value = 0.5 * (1.0 + 1.0 + 0.64 + 0.01 + 0.16) / 5
    assert float(policy) == pytest.approx(want_policy)
    assert float(value) == pytest.approx(want_value)
    assert float(loss) == pytest.approx(want_policy + 0.1 * want_value)
    assert float(frac) == pytest.approx(2 / 5)  # the tie at ratio 1 and the A = 0 token are not clipped
    loss2, *_ = ppo_loss(*_hand_batch(), vf_coef=0.5)
    assert float(loss2) == pytest.approx(want_policy + 0.5 * want_value)


def test_outputs_are_zero_dim_in_the_inputs_dtype_and_only_clip_fraction_is_detached():
    inputs = [t.float() if t.is_floating_point() else t.bool() for t in _hand_batch()]
    inputs[0].requires_grad_(True)
    inputs[3].requires_grad_(True)
    out = ppo_loss(*inputs)
    assert [o.shape for o in out] == [torch.Size([])] * 4
    assert {o.dtype for o in out} == {torch.float32}
    assert [o.requires_grad for o in out] == [True, True, True, False]


def _random(seed=0, b=4, t=6, eps=0.2, eps_v=0.2):
    g = torch.Generator().manual_seed(seed)
    old = -1.5 - 2 * torch.rand(b, t, generator=g, dtype=F64)
    ratio = ppo_cases.away_from(torch.exp(0.4 * torch.randn(b, t, generator=g, dtype=F64)), (1 - eps, 1 + eps), 1e-3)
    old_values = torch.randn(b, t, generator=g, dtype=F64)
    step = ppo_cases.away_from(0.4 * torch.randn(b, t, generator=g, dtype=F64), (-eps_v, eps_v), 1e-3)
    adv = torch.randn(b, t, generator=g, dtype=F64)
    returns = torch.randn(b, t, generator=g, dtype=F64)
    mask = ppo_cases.lengths_mask([t, t - 2, 1, 0][:b], t, "float")
    return old + ratio.log(), old, adv, old_values + step, old_values, returns, mask


@pytest.mark.parametrize("seed,eps,eps_v", [(0, 0.2, 0.2), (1, 0.1, 0.5), (2, 0.3, 0.05)])
def test_gradient_closed_form(seed, eps, eps_v):
    logps, old, adv, values, old_values, returns, mask = _random(seed, eps=eps, eps_v=eps_v)
    logps.requires_grad_(True)
    values.requires_grad_(True)
    _, policy, value, frac = ppo_loss(logps, old, adv, values, old_values, returns, mask,
                                      clip_eps=eps, value_clip_eps=eps_v)
    g_logps, = torch.autograd.grad(policy, logps)
    g_values, = torch.autograd.grad(value, values)
    with torch.no_grad():
        n = mask.sum()
        ratio = torch.exp(logps - old)
        clipped = ((adv > 0) & (ratio > 1 + eps)) | ((adv < 0) & (ratio < 1 - eps))
        # d policy_loss / d logps = -A·ratio/N where the unclipped term counts, 0 where clipping is active.
        want_logps = torch.where(clipped, 0.0, -adv * ratio / n) * mask
        v_clip = old_values + (values - old_values).clamp(-eps_v, eps_v)
        # d value_loss / d values = (V - R)/N where the unclipped error is the larger; 0 where the clipped
        # one is (there V is outside the band and V_clip does not move with it).
        value_clipped = (v_clip - returns) ** 2 > (values - returns) ** 2
        want_values = torch.where(value_clipped, 0.0, (values - returns) / n) * mask
        torch.testing.assert_close(g_logps, want_logps)
        torch.testing.assert_close(g_values, want_values)
        assert float(frac) == pytest.approx(float((clipped.to(F64) * mask).sum() / n))
    assert clipped[mask.bool()].any() and (~clipped[mask.bool()]).any()  # both kinds of token were exercised
    assert value_clipped[mask.bool()].any() and (~value_clipped[mask.bool()]).any()


def test_on_policy_the_loss_is_minus_the_mean_advantage_and_nothing_is_clipped():
    logps, _, adv, values, old_values, returns, mask = _random(3)
    logps.requires_grad_(True)
    _, policy, _, frac = ppo_loss(logps, logps.detach().clone(), adv, values, old_values, returns, mask)
    n = mask.sum()
    assert float(policy.detach()) == pytest.approx(float(-(adv * mask).sum() / n))
    assert float(frac) == 0.0
    g, = torch.autograd.grad(policy, logps)
    torch.testing.assert_close(g, -adv * mask / n)  # the policy-gradient estimator's gradient, ratio 1


def test_infinite_eps_is_the_unclipped_surrogate():
    logps, old, adv, values, old_values, returns, mask = _random(4)
    _, policy, _, frac = ppo_loss(logps, old, adv, values, old_values, returns, mask, clip_eps=math.inf)
    assert float(policy) == pytest.approx(float(-(adv * torch.exp(logps - old) * mask).sum() / mask.sum()))
    assert float(frac) == 0.0


def test_vf_coef_zero_leaves_the_policy_loss_and_still_reports_the_value_loss():
    batch = _random(7)
    loss, policy, value, _ = ppo_loss(*batch, vf_coef=0.0)
    assert float(loss) == float(policy) and float(value) == float(ppo_loss(*batch)[2]) > 0


def test_a_gap_in_the_mask_counts_as_the_same_tokens_packed_to_the_left():
    # Row 0's response tokens at positions 1, 2 and 4 (a prompt token, then a gap between turns):
    # the token means see only which tokens count, not where they sit.
    logps, old, adv, values, old_values, returns, _ = _random(8, b=2, t=6)
    gaps = torch.tensor([[0, 1, 1, 0, 1, 0], [1, 1, 1, 1, 1, 1]])
    order = torch.tensor([[1, 2, 4, 0, 3, 5], [0, 1, 2, 3, 4, 5]])  # each row's tokens first
    packed = [t.gather(1, order) for t in (logps, old, adv, values, old_values, returns)]
    right_padded = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    for a, b in zip(ppo_loss(logps, old, adv, values, old_values, returns, gaps), ppo_loss(*packed, right_padded)):
        assert float(a) == pytest.approx(float(b))


def test_empty_batch_gives_zeros_and_no_nan():
    logps, old, adv, values, old_values, returns, _ = _random(5)
    logps.requires_grad_(True)
    out = ppo_loss(logps, old, adv, values, old_values, returns, torch.zeros(4, 6, dtype=torch.bool))
    assert [float(o.detach()) for o in out] == [0.0, 0.0, 0.0, 0.0]
    g, = torch.autograd.grad(out[0], logps)
    assert not g.any()


def test_constants_receive_no_gradient_and_padding_changes_nothing():
    logps, old, adv, values, old_values, returns, mask = _random(6)
    leaves = [t.clone().requires_grad_(True) for t in (logps, old, adv, values, old_values, returns)]
    loss, *_ = ppo_loss(*leaves, mask)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    assert all(g is None or not g.any() for g in grads[1:3] + grads[4:])
    pad = ~mask.bool()
    noisy = [torch.where(pad, t + 3.0, t) for t in (logps, old, adv, values, old_values, returns)]
    for a, b in zip(ppo_loss(*noisy, mask), ppo_loss(logps, old, adv, values, old_values, returns, mask)):
        assert float(a) == pytest.approx(float(b))


# ---------------------------------------------------------------- the spec's cases
@pytest.mark.parametrize("seed", range(25))
def test_cases_keep_the_contracts_margins_at_every_seed(seed):
    cases = make_cases(seed)
    for case in cases:
        check_margins(case.inputs, case.options)  # raises when a ratio or value step is within 1e-6 of a bound
        mask = case.inputs["mask"]
        assert not mask.is_floating_point() or mask.dtype == case.dtype, case.name  # a float mask: the inputs' dtype
    assert [c.name for c in cases] == [c.name for c in make_cases(seed + 1)]  # the same battery at every seed


def test_the_battery_covers_the_contracts_edges():
    cases = {c.name: c for c in make_cases(0)}
    assert cases["no response token"].inputs["mask"].sum() == 0
    assert (cases["an empty row"].inputs["mask"].sum(-1) == 0).any()
    assert cases["non-contiguous"].layout["logps"] == "transposed"
    assert {str(c.inputs["mask"].dtype) for c in cases.values()} >= {"torch.float32", "torch.int64", "torch.bool"}
    assert {c.dtype for c in cases.values()} == {torch.float32, F64}
    for name in ("ratios near 1 ± ε, float64", "ratios near 1 ± ε, float32"):
        c = cases[name]
        eps = c.options.get("clip_eps", 0.2)
        ratio = torch.exp(c.inputs["logps"].to(F64) - c.inputs["old_logps"].to(F64))[:, :6]
        adv = c.inputs["advantages"][:, :6]
        for bound in (1 - eps, 1 + eps):
            for side in (ratio > bound, ratio < bound):
                near = side & ((ratio - bound).abs() < 1e-4)
                assert (near & (adv > 0)).any() and (near & (adv < 0)).any(), (name, bound)
    # the ends of the options' ranges, T = 1 with several rows, past chunk sizes, a gap inside a row
    assert cases["vf_coef = 0"].options["vf_coef"] == 0.0 and cases["clip_eps ≥ 1"].options["clip_eps"] >= 1
    assert set(cases["no clipping, ε = ε_v = inf"].options.values()) == {math.inf}
    assert [list(cases[n].inputs["mask"].shape) for n in ("T=1, B=4", "B=33", "T=1100")] == [[4, 1], [33, 5], [1, 1100]]
    # past 256-row micro-batches and float16's exact integers (2048), with an odd count
    big = cases["B=257"].inputs["mask"]
    assert big.shape[0] > 256 and int(big.sum()) > 2048 and int(big.sum()) % 2 == 1
    # ε = inf and ε_v = inf each with the other finite; ε = 1 exactly
    assert cases["ε = inf, finite ε_v"].options == {"clip_eps": math.inf, "value_clip_eps": 0.15}
    assert cases["ε_v = inf, finite ε"].options == {"clip_eps": 0.15, "value_clip_eps": math.inf}
    assert cases["clip_eps = 1"].options["clip_eps"] == 1.0
    # every integer width of the mask (the statement: any width) and bool, each with float32 and
    # float64 inputs, on a batch with response tokens
    widths = {(str(laid_out(c, "mask", c.inputs["mask"]).dtype), c.dtype) for c in cases.values()
              if c.inputs["mask"].sum() > 0}
    assert widths >= {(f"torch.{w}", d) for w in ("int64", "int32", "int16", "int8", "uint8", "bool")
                      for d in (torch.float32, F64)}
    # log-ratios from -20 to -7 at an ordinary scale, with advantages of both signs
    floor = cases["log-ratios from -20 to -7"]
    log_ratio = (floor.inputs["logps"] - floor.inputs["old_logps"])[floor.inputs["mask"].bool()]
    assert not floor.extreme and log_ratio.max() < -7 and log_ratio.min() < -19
    assert (floor.inputs["advantages"] > 1).any() and (floor.inputs["advantages"] < 0).any()
    gaps = cases["gaps inside responses"].inputs["mask"].to(torch.int64)
    assert bool(((gaps == 0) & (gaps.cumsum(1) > 0) & (gaps.flip(1).cumsum(1).flip(1) > 0)).any())  # a 0 between 1s
    extreme = cases["|log-ratio| up to 20, float32"].inputs
    log_ratio = extreme["logps"].to(F64) - extreme["old_logps"].to(F64)
    assert log_ratio.max() > 19.9 and log_ratio.min() < -19.9 and extreme["logps"].min() < -150


@pytest.mark.parametrize("seed", range(6))
def test_eps_ge_1_cases_have_ratios_below_any_lower_bound_with_negative_advantages(seed):
    """No lower bound for ε ≥ 1: a bound such as 1/(1 + ε) would clip these tokens."""
    cases = {c.name: c for c in make_cases(seed)}
    for name in ("clip_eps ≥ 1", "clip_eps = 1"):
        x, eps = cases[name].inputs, cases[name].options["clip_eps"]
        ratio = torch.exp(x["logps"].to(F64) - x["old_logps"].to(F64))
        below = (ratio < 0.5 / (1 + eps)) & (x["advantages"] < 0) & x["mask"].bool()
        assert int(below.sum()) >= 2, name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_combination_of_the_reference_is_its_batch_result(seed):
    for case in make_cases(seed):
        batch = SPEC.call(ppo_loss, case)
        rows = []
        for b in range(case.inputs["mask"].shape[0]):
            rows.append(list(SPEC.call(ppo_loss, case, {k: v[b:b + 1] for k, v in case.inputs.items()})))
        for got, want in zip(combine_rows(rows, case), batch):
            assert float(got) == pytest.approx(float(want), rel=1e-4, abs=1e-5), case.name


# ---------------------------------------------------------------- behaviour
def _judge(fn, seed=0):
    beh = PPOBehaviour()
    return beh.judge(beh.run(fn, seed))


@pytest.mark.parametrize("seed", [0, 1, 2, -5, 2**62])  # any int `--seed` accepts
def test_behaviour_passes_the_reference(seed):
    result = _judge(ppo_loss, seed)
    assert result.status == "pass", result.message
    judged = result.details["judged"]
    assert 1.1 < judged["final_ratio_eps_0.1"] <= 1.15 and 1.2 < judged["final_ratio_eps_0.2"] <= 1.25
    assert 2.0 < judged["final_ratio_eps_inf"] < 5.0
    assert judged["lr"] == 0.1 and judged["epochs"] == 120
    assert "plain SGD, lr 0.1, 120 epochs on one rollout of 26 tokens" in result.message  # the optimiser, the rollout
    names = {(s["name"], s["param"]["ε"]) for s in result.details["series"]}
    assert ("ratio π/π_old", "inf") in names and ("KL(π_old‖π)", "0.1") in names


def _min_negated(*a, **o):
    out = ppo_spec.outputs(*a, **o, policy=torch.minimum)
    return out["loss"], out["policy_loss"], out["value_loss"], out["clip_fraction"].detach()


def _no_clipping(logps, old_logps, advantages, *rest, clip_eps=0.2, **o):
    return ppo_loss(logps, old_logps, advantages, *rest, clip_eps=math.inf, **o)


def _policy_detached(*a, **o):
    loss, policy, value, frac = ppo_loss(*a, **o)
    return loss, policy.detach(), value, frac


def _value_detached(*a, **o):
    loss, policy, value, frac = ppo_loss(*a, **o)
    return loss, policy, value.detach(), frac


def _per_sequence(*a, **o):
    out = ppo_spec.outputs(*a, **o, reduce=ppo_spec.sequence_mean)
    return out["loss"], out["policy_loss"], out["value_loss"], out["clip_fraction"].detach()


@pytest.mark.parametrize("fn,says", [
    (_min_negated, "nonzero at 4 of the 4 tokens clipped"),
    (_no_clipping, "ε=0.1: the ratio should level off just above 1 + ε = 1.1"),
    (_policy_detached, "policy_loss carries no graph"),
    (_value_detached, "value_loss carries no graph"),
    (_per_sequence, "on-policy (logps == old_logps) policy_loss should be -mean(A)"),
])
def test_behaviour_fails_wrong_implementations(fn, says):
    result = _judge(fn)
    assert result.status == "fail"
    assert says in result.message, result.message


def test_the_last_hint_written_out_passes(grade_one):
    """Hint 3 is the formula as code; written out line by line it must pass the kata."""
    from grader import registry

    *body, ret = registry.get("ppo").hints[2].rstrip(".").split("; ")
    assert ret.startswith("return ")
    source = ("import torch\n\n\ndef ppo_loss(logps, old_logps, advantages, values, old_values, returns, mask,\n"
              "             clip_eps=0.2, value_clip_eps=0.2, vf_coef=0.1):\n"
              + "".join(f"    {line}\n" for line in body) + f"    {ret}\n")
    result = grade_one("ppo", source)
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.status == "fail"]


def test_the_behaviour_judge_takes_its_thresholds_from_tolerances():
    """The judge lives in behaviour.py, beside spec.py: held to the same rule as the spec.py judges."""
    import ast
    from pathlib import Path

    from grader.catalog.ppo import behaviour
    from tests.test_tolerances import _literals_compared

    tree = ast.parse(Path(behaviour.__file__).read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PPOBehaviour")
    judge = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "judge")
    assert _literals_compared(judge) == []


@pytest.mark.parametrize("seed", [0, 7])
def test_the_reference_passes_the_grader_and_the_stub_is_not_started(grade_one, seed):
    from grader import registry
    from grader.core import workspace
    from tests.conftest import solution_source

    result = grade_one("ppo", solution_source("ppo"), seed=seed)
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.status == "fail"]
    stub = grade_one("ppo", workspace.stub_source(registry.get("ppo")), seed=seed)
    assert stub.status == "not_started"


def test_behaviour_data_not_shaped_as_the_run_writes_is_the_submissions_fault():
    from grader.core.faults import MalformedResults

    beh = PPOBehaviour()
    good = beh.run(ppo_loss, 0)
    assert beh.judge(good).status == "pass"
    forged = [
        {**good, "clip": {"graph": True}},
        {**good, "clip": {**good["clip"], "grad": [[0.0] * 8]}},
        {**good, "runs": {k: v for k, v in good["runs"].items() if k != "inf"}},
        {**good, "runs": {**good["runs"], "0.1": {"ratio": [1.0] * 3, "kl": [0.0] * 3}}},
        {**good, "on_policy": "0.1"},
        [],
    ]
    for data in forged:
        with pytest.raises(MalformedResults, match="the behaviour run's data is not what the grader's run writes"):
            beh.judge(data)
