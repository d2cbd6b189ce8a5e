"""solutions/kto.py against hand-computed values, closed-form gradients and invariances; the
behaviour run passes the reference and fails wrong implementations."""
from __future__ import annotations

import importlib
import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks.cases import laid_out
from solutions.kto import kto_loss
from tests.conftest import check, solution_source

D = torch.float64
SPEC = importlib.import_module("grader.catalog.kto.spec").SPEC


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_hand_computed_batch():
    # KL pairs' log-ratios 1 and 3: z0 = 2. r = 2, 12, -8 (desirable, desirable, undesirable), β = 0.1.
    policy = torch.tensor([-8.0, -3.0, -28.0], dtype=D)
    ref = torch.tensor([-10.0, -15.0, -20.0], dtype=D)
    kl_policy, kl_ref = torch.tensor([-4.0, -2.0], dtype=D), torch.tensor([-5.0, -5.0], dtype=D)
    desirable = torch.tensor([True, True, False])
    loss, rewards, kl = kto_loss(policy, ref, kl_policy, kl_ref, desirable)
    # 1 - σ(0) = 0.5; 1 - σ(0.1·10) = σ(-1); undesirable: 1 - σ(0.1·(2 - -8)) = σ(-1)
    assert loss.item() == pytest.approx((0.5 + 2 * sigmoid(-1.0)) / 3, abs=1e-12)
    assert rewards.tolist() == pytest.approx([0.2, 1.2, -0.8], abs=1e-12)
    assert kl.item() == 2.0 and kl.dim() == 0


def test_weights_and_integer_labels():
    policy, ref = torch.tensor([1.0, 1.0], dtype=D), torch.tensor([0.0, 0.0], dtype=D)
    kl = torch.zeros(3, dtype=D)  # z0 = 0, r = 1
    loss, _, _ = kto_loss(policy, ref, kl, kl, torch.tensor([1, 0]), beta=1.0, desirable_weight=2.0,
                          undesirable_weight=0.5)
    want = (2.0 * sigmoid(-1.0) + 0.5 * sigmoid(1.0)) / 2
    assert loss.item() == pytest.approx(want, abs=1e-12)
    bool_loss, _, _ = kto_loss(policy, ref, kl, kl, torch.tensor([True, False]), beta=1.0, desirable_weight=2.0,
                               undesirable_weight=0.5)
    assert bool_loss.item() == loss.item()


def test_negative_kl_estimate_clamps_z0_to_zero():
    policy, ref = torch.tensor([0.5], dtype=D), torch.tensor([0.0], dtype=D)
    loss, _, kl = kto_loss(policy, ref, torch.tensor([-3.0, -4.0], dtype=D), torch.tensor([-1.0, -1.0], dtype=D),
                           torch.tensor([True]), beta=2.0)
    assert kl.item() == 0.0
    assert loss.item() == pytest.approx(sigmoid(-1.0), abs=1e-12)


def test_closed_form_gradient_and_no_gradient_to_constants():
    g = torch.Generator().manual_seed(0)
    B, K, beta, wd, wu = 6, 4, 0.3, 1.4, 0.6
    policy = (-20 * torch.rand(B, generator=g, dtype=D)).requires_grad_()
    ref = (policy.detach() + torch.randn(B, generator=g, dtype=D)).requires_grad_()
    kl_ref = -10 * torch.rand(K, generator=g, dtype=D)
    kl_policy = (kl_ref + 0.5 + torch.rand(K, generator=g, dtype=D)).requires_grad_()
    desirable = torch.tensor([True, False, True, False, False, True])
    loss, _, z0 = kto_loss(policy, ref, kl_policy, kl_ref, desirable, beta, wd, wu)
    grads = torch.autograd.grad(loss, [policy, ref, kl_policy], allow_unused=True)
    sign = desirable.double() * 2 - 1
    w = torch.where(desirable, torch.tensor(wd, dtype=D), torch.tensor(wu, dtype=D))
    x = sign * beta * ((policy - ref).detach() - z0)
    want = -sign * beta * w * torch.sigmoid(x) * torch.sigmoid(-x) / B
    torch.testing.assert_close(grads[0], want, rtol=1e-12, atol=0)
    assert grads[1] is None and grads[2] is None


def test_symmetry_half_weight_and_bounds():
    gaps = torch.linspace(-1e4, 1e4, 41, dtype=D)
    ref = torch.full((41,), -50.0, dtype=D)
    kl = torch.zeros(2, dtype=D)
    for desirable, w in ((True, 1.7), (False, 0.3)):
        labels = torch.full((41,), desirable)
        per = [kto_loss(ref[i:i + 1] + gaps[i], ref[i:i + 1], kl, kl, labels[i:i + 1], 0.1, 1.7, 0.3)[0].item()
               for i in range(41)]
        assert all(0.0 <= p <= w for p in per)
        assert per[20] == pytest.approx(w / 2, abs=1e-15)  # r = z0
    # desirable at margin m equals undesirable at -m (equal weights)
    m = torch.tensor([3.0], dtype=D)
    d, _, _ = kto_loss(m, torch.zeros(1, dtype=D), kl, kl, torch.tensor([True]))
    u, _, _ = kto_loss(-m, torch.zeros(1, dtype=D), kl, kl, torch.tensor([False]))
    assert d.item() == pytest.approx(u.item(), abs=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_ratios_of_thousands_stay_finite(dtype):
    policy = torch.tensor([-2e4, 0.0, -1e4, 5e3], dtype=dtype, requires_grad=True)
    ref = torch.tensor([0.0, -2e4, 0.0, -5e3], dtype=dtype)
    kl = torch.zeros(2, dtype=dtype)
    loss, rewards, _ = kto_loss(policy, ref, kl, kl, torch.tensor([True, True, False, False]))
    (grad,) = torch.autograd.grad(loss, policy)
    assert loss.dtype == dtype and math.isfinite(loss.item())
    # desirable far below z0: loss 1; desirable far above: 0; undesirable far below: 0; far above: 1
    assert loss.item() == pytest.approx(0.5, abs=1e-6)
    assert torch.isfinite(grad).all() and grad.abs().max() < 1e-30


def test_empty_kl_inputs_raise_value_error():
    x = torch.zeros(2, dtype=D)
    with pytest.raises(ValueError, match="must not be empty"):
        kto_loss(x, x, torch.zeros(0, dtype=D), torch.zeros(0, dtype=D), torch.tensor([True, False]))


def test_kl_inputs_may_have_another_length_than_b():
    x = torch.zeros(2, dtype=D)
    loss, rewards, kl = kto_loss(x, x, torch.ones(7, dtype=D), torch.zeros(7, dtype=D), torch.tensor([True, False]))
    assert kl.item() == 1.0 and rewards.shape == (2,)


# ---------------------------------------------------------------- the battery
@pytest.mark.parametrize("seed", range(6))
def test_battery_reaches_each_end_of_the_contract(seed):
    """What the audit found ungraded, at every seed: each single label with a negative KL
    estimate, β = 0.01, B past chunk sizes, KL log-probs where exp underflows."""
    cases = {c.name: c for c in SPEC.make_cases(seed)}
    for name, label in (("all desirable, mean KL negative", True), ("all undesirable, mean KL negative", False)):
        x = cases[name].inputs
        assert (x["desirable"] == label).all() and (x["kl_policy_logps"] - x["kl_ref_logps"]).mean() < 0
    assert min(c.options.get("beta", 0.1) for c in cases.values()) == 0.01
    assert max(c.inputs["policy_logps"].shape[0] for c in cases.values()) == 257  # past 256-example micro-batches
    # any integer width, each with float32 and float64 inputs, on mixed labels
    widths = {(str(laid_out(c, "desirable", c.inputs["desirable"]).dtype), c.dtype) for c in cases.values()
              if c.inputs["desirable"].any() and not c.inputs["desirable"].all()}
    assert widths >= {(f"torch.{w}", d) for w in ("int64", "int32", "int16", "int8", "uint8", "bool")
                      for d in (torch.float32, torch.float64)}
    weights = {(c.options.get("desirable_weight", 1.0), c.options.get("undesirable_weight", 1.0))
               for c in cases.values()}
    assert {(2.0, 2.0), (0.5, 0.5), (0.01, 100.0), (100.0, 0.01)} <= weights  # equal but not 1; the range's ends
    assert max(c.inputs["kl_policy_logps"].shape[0] for c in cases.values()) == 300  # past chunks of 128 or 256 pairs
    for case in (c for c in cases.values() if c.extreme):
        kl_policy, kl_ref = case.inputs["kl_policy_logps"], case.inputs["kl_ref_logps"]
        assert kl_policy.max() < -1000 and kl_ref.max() < -1000  # exp underflows in float32 and float64
        # every correct order of arithmetic gives the same z0 in float32: only underflow is tested
        f32 = kl_policy.float(), kl_ref.float()
        assert (f32[0] - f32[1]).mean() == f32[0].mean() - f32[1].mean() == (kl_policy - kl_ref).double().mean()


# ---------------------------------------------------------------- behaviour
@pytest.mark.parametrize("seed", [0, 3])
def test_behaviour_passes_the_reference_with_the_issue_figures(seed):
    r = SPEC.behaviour.judge(SPEC.behaviour.run(kto_loss, seed))
    assert r.status == "pass", r.message
    j = r.details["judged"]
    # β·σ(10)·σ(-10) = 4.54e-6 at r - z0 = -100 with weight 1; DPO's -log σ: β·σ(10) = 0.09999
    assert abs(j["desirable_grad_at_minus_100"]) == pytest.approx(0.1 * sigmoid(10) * sigmoid(-10), rel=1e-9)
    assert j["dpo_grad_at_minus_100"] == pytest.approx(0.1 * sigmoid(10), rel=1e-12)
    assert j["desirable_loss_at_z0"] == pytest.approx(0.5) and j["undesirable_loss_at_z0"] == pytest.approx(0.75)
    assert j["train_desirable_change"] > 0.5 and j["train_undesirable_change"] < -0.5
    assert j["margins"][0] == -100.0 and max(j["desirable_loss_by_margin"]) <= 1.0
    assert [(c["name"], c["param"], c["x"]) for c in r.details["series"]] == [
        ("log π per token", {"label": "desirable"}, "step"), ("log π per token", {"label": "undesirable"}, "step"),
        ("z0", {}, "step")]


def _with(**changes):
    """kto_loss with one step replaced (by keyword): z0, value."""
    def loss_fn(policy, ref, kl_policy, kl_ref, desirable, beta=0.1, desirable_weight=1.0, undesirable_weight=1.0):
        z0 = changes.get("z0", lambda p, q: (p - q).mean().clamp(min=0).detach())(kl_policy, kl_ref)
        value = changes.get("value", lambda x: torch.sigmoid(-x))
        r = policy - ref
        d = desirable.bool()
        losses = torch.where(d, desirable_weight * value(beta * (r - z0)), undesirable_weight * value(beta * (z0 - r)))
        return losses.mean(), (beta * r).detach(), z0.detach()
    return loss_fn


def test_behaviour_fails_dpo_log_sigmoid():
    r = SPEC.behaviour.judge(SPEC.behaviour.run(_with(value=lambda x: -F.logsigmoid(x)), 0))
    assert r.status == "fail"
    assert "at r = z0 is 0.6931" in r.message and "still gets a gradient of 0.1" in r.message
    assert "left [0, 1]" in r.message


def test_behaviour_fails_z0_with_a_graph():
    r = SPEC.behaviour.judge(SPEC.behaviour.run(_with(z0=lambda p, q: (p - q).mean().clamp(min=0)), 0))
    assert r.status == "fail" and "reaches kl_policy_logps: z0 is not detached" in r.message


def test_reference_passes_every_check(grade_one):
    r = grade_one("kto", solution_source("kto"), seed=4)
    assert r.status == "pass", [(c.name, c.message) for c in r.failed_checks]
    assert check(r, "constants_detached").message == \
        "no gradient reaches ref_logps, kl_policy_logps, kl_ref_logps on 27 cases"


def test_sigmoid_written_with_exp_fails_gradients_at_thousands_of_nats(grade_one):
    """1 / (1 + exp(-x)) has the right values but a NaN gradient where exp overflows."""
    src = solution_source("kto").replace("torch.sigmoid(", "_sig(") + \
        "\n\ndef _sig(x):\n    return 1 / (1 + torch.exp(-x))\n"
    r = grade_one("kto", src)
    assert check(r, "values").status == "pass"
    c = check(r, "gradients")
    assert c.status == "fail" and "|r - z0| up to 1e4" in c.message
