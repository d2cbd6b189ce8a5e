"""The reference IPO loss against values derived without it: a hand-computed pair, the
closed-form gradient, invariances of h, and log-ratios of thousands of nats."""
from __future__ import annotations

import pytest
import torch

from grader import registry
from grader.catalog.ipo.spec import make_cases
from grader.core import workspace
from solutions.ipo import ipo_loss
from grader.checks.details import curve
from tests.conftest import check, solution_source
from tests.test_reference_dpo import float_masks_off_dtype, unreached, widths_unreached


def _hand_pair(dtype=torch.float64):
    # Chosen: log-ratios 0.5 and -1.0 on its 2 response tokens -> mean -0.25.
    # Rejected: token 0 is prompt; log-ratios 1.0 and 0.5 -> mean 0.75.   h = -0.25 - 0.75 = -1.
    pc = torch.tensor([[-1.0, -2.0]], dtype=dtype)
    rc = torch.tensor([[-1.5, -1.0]], dtype=dtype)
    pr = torch.tensor([[-3.0, -1.0, -2.0]], dtype=dtype)
    rr = torch.tensor([[-9.0, -2.0, -2.5]], dtype=dtype)
    return pc, pr, rc, rr, torch.tensor([[1, 1]]), torch.tensor([[0, 1, 1]])


def test_hand_computed_pair():
    loss, chosen, rejected = ipo_loss(*_hand_pair(), beta=0.5)  # target 1/(2·0.5) = 1
    assert float(loss) == pytest.approx((-1.0 - 1.0) ** 2)
    assert float(chosen[0]) == pytest.approx(0.5 * -0.25)
    assert float(rejected[0]) == pytest.approx(0.5 * 0.75)
    loss_default, _, _ = ipo_loss(*_hand_pair())  # β = 0.1: target 5
    assert float(loss_default) == pytest.approx((-1.0 - 5.0) ** 2)


def test_batch_mean_of_rows():
    pc, pr, rc, rr, mc, mr = _hand_pair()
    # A second row with policy == reference: h = 0, loss (0 - 1)^2 = 1 at β = 0.5.
    two = [torch.cat([x, y], 0) for x, y in zip((pc, pr, rc, rr), (pc, pr, pc, pr))]
    loss, chosen, rejected = ipo_loss(*two, torch.cat([mc, mc]), torch.cat([mr, mr]), beta=0.5)
    assert float(loss) == pytest.approx((4.0 + 1.0) / 2)
    assert chosen.shape == rejected.shape == (2,)


def _random(b=4, tc=6, tr=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pc, pr = -3 * torch.rand(b, tc, generator=g, dtype=dtype), -3 * torch.rand(b, tr, generator=g, dtype=dtype)
    rc, rr = pc + torch.randn(b, tc, generator=g, dtype=dtype), pr + torch.randn(b, tr, generator=g, dtype=dtype)
    mc = torch.zeros(b, tc)
    mr = torch.zeros(b, tr)
    for i in range(b):
        mc[i, i % 3: tc - i % 2] = 1
        mr[i, 1: tr - i % 3] = 1
    return pc, pr, rc, rr, mc, mr


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_gradient_closed_form(beta):
    pc, pr, rc, rr, mc, mr = _random()
    pc.requires_grad_(True)
    pr.requires_grad_(True)
    loss, _, _ = ipo_loss(pc, pr, rc, rr, mc, mr, beta=beta)
    gc, gr = torch.autograd.grad(loss, (pc, pr))
    with torch.no_grad():
        nc, nr = mc.sum(-1, keepdim=True), mr.sum(-1, keepdim=True)
        h = ((pc - rc) * mc).sum(-1, keepdim=True) / nc - ((pr - rr) * mr).sum(-1, keepdim=True) / nr
        b = pc.shape[0]
        # dL/dπ_c,t = 2(h - 1/(2β)) m_t / n_c / B, and the opposite sign over n_r for the rejected tokens.
        torch.testing.assert_close(gc, 2 * (h - 1 / (2 * beta)) * mc / nc / b)
        torch.testing.assert_close(gr, -2 * (h - 1 / (2 * beta)) * mr / nr / b)


def test_shifting_a_row_of_chosen_logps_shifts_h_by_the_same_constant():
    pc, pr, rc, rr, mc, mr = _random(b=1)
    beta = 0.25
    _, chosen, rejected = ipo_loss(pc, pr, rc, rr, mc, mr, beta=beta)
    h = float(chosen[0] - rejected[0]) / beta
    for c in (0.5, -2.0):  # the mean of a constant is that constant, masked or not
        loss, shifted, _ = ipo_loss(pc + c, pr, rc, rr, mc, mr, beta=beta)
        assert float(shifted[0]) == pytest.approx(float(chosen[0]) + beta * c)
        assert float(loss) == pytest.approx((h + c - 1 / (2 * beta)) ** 2)
    # Shifting the chosen row by exactly 1/(2β) - h puts h on its target: the loss is 0.
    loss_at_target, _, _ = ipo_loss(pc + (1 / (2 * beta) - h), pr, rc, rr, mc, mr, beta=beta)
    assert float(loss_at_target) == pytest.approx(0.0, abs=1e-20)


def test_minimum_at_h_equal_one_over_two_beta_with_zero_gradient():
    beta = 0.2
    pc = torch.full((2, 3), -1.0, dtype=torch.float64, requires_grad=True)
    rc = torch.full((2, 3), -1.0 - 1 / (2 * beta), dtype=torch.float64)  # chosen log-ratio 2.5 on every token
    pr = torch.full((2, 4), -2.0, dtype=torch.float64, requires_grad=True)
    ones_c, ones_r = torch.ones(2, 3), torch.ones(2, 4)
    loss, _, _ = ipo_loss(pc, pr, rc, pr.detach(), ones_c, ones_r, beta=beta)
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-24)
    assert all(float(g.abs().max()) == 0.0 for g in torch.autograd.grad(loss, (pc, pr)))


def test_policy_equal_to_reference_gives_the_target_squared():
    pc, pr, _, _, mc, mr = _random()
    for beta in (0.1, 0.5):
        loss, chosen, rejected = ipo_loss(pc, pr, pc, pr, mc, mr, beta=beta)
        assert float(loss) == pytest.approx(1 / (4 * beta ** 2))
        assert torch.equal(chosen, torch.zeros(4, dtype=torch.float64))


def test_masked_positions_do_not_matter_and_mask_dtype_does_not_either():
    pc, pr, rc, rr, mc, mr = _random(seed=1)
    noisy = [torch.where(m.bool(), x, torch.full_like(x, -1e4)) for x, m in ((pc, mc), (pr, mr), (rc, mc), (rr, mr))]
    want = ipo_loss(pc, pr, rc, rr, mc, mr)
    for kind in (torch.bool, torch.int64, torch.float32):
        got = ipo_loss(*noisy, mc.to(kind), mr.to(kind))
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


def test_length_normalised_repeating_every_token_leaves_h_unchanged():
    pc, pr, rc, rr, mc, mr = _random(seed=2)
    twice = [x.repeat_interleave(2, dim=1) for x in (pc, pr, rc, rr, mc, mr)]
    for a, b in zip(ipo_loss(*twice), ipo_loss(pc, pr, rc, rr, mc, mr)):
        torch.testing.assert_close(a, b)


def test_swapping_chosen_and_rejected_negates_h():
    pc, pr, rc, rr, mc, mr = _random(b=1, tc=5, tr=5, seed=3)
    beta = 0.5
    loss, c, r = ipo_loss(pc, pr, rc, rr, mc, mr, beta=beta)
    swapped, _, _ = ipo_loss(pr, pc, rr, rc, mr, mc, beta=beta)
    h = float(c[0] - r[0]) / beta
    assert float(loss) == pytest.approx((h - 1) ** 2)
    assert float(swapped) == pytest.approx((-h - 1) ** 2)


def test_empty_response_has_log_ratio_zero():
    pc, pr, rc, rr, mc, mr = _random()
    mr[2] = 0
    mc[3] = 0
    loss, chosen, rejected = ipo_loss(pc, pr, rc, rr, mc, mr)
    assert torch.isfinite(loss) and float(rejected[2]) == 0.0 and float(chosen[3]) == 0.0


def test_a_pair_with_both_responses_empty_counts_with_the_target_squared():
    pc, pr, rc, rr, mc, mr = _random(seed=4)
    pc.requires_grad_(True)
    mc[1], mr[1] = 0, 0  # row 1 truncated away whole: h = 0
    loss, chosen, rejected = ipo_loss(pc, pr, rc, rr, mc, mr, beta=0.25)
    kept = [0, 2, 3]
    others, _, _ = ipo_loss(*(x[kept] for x in (pc, pr, rc, rr, mc, mr)), beta=0.25)
    assert loss.item() == pytest.approx((3 * others.item() + 2.0 ** 2) / 4)  # (0 - 1/(2β))² = 4, over B = 4
    assert float(chosen[1]) == 0.0 and float(rejected[1]) == 0.0
    assert not torch.autograd.grad(loss, pc)[0][1].any()


def test_a_batch_of_only_empty_pairs_has_the_target_squared_and_no_gradient():
    pc, pr, rc, rr, mc, mr = _random(seed=5)
    pc.requires_grad_(True)
    empty = torch.zeros_like(mc, dtype=torch.bool), torch.zeros_like(mr, dtype=torch.bool)
    loss, _, _ = ipo_loss(pc, pr, rc, rr, *empty, beta=0.5)
    assert loss.item() == 1.0
    assert not torch.autograd.grad(loss, pc)[0].any()


def test_zeros_inside_a_response_are_not_counted():
    # A multi-turn mask: the assistant's tokens 0, 1 and 4; tokens 2 and 3 are the user's turn.
    lp = torch.tensor([[-1.0, -2.0, -50.0, -60.0, -3.0]], dtype=torch.float64)
    zero = torch.zeros_like(lp)
    turns = torch.tensor([[1, 1, 0, 0, 1]])
    _, chosen, _ = ipo_loss(lp, zero[:, :1], zero, zero[:, :1], turns, torch.ones(1, 1), beta=0.5)
    assert float(chosen[0]) == pytest.approx(0.5 * (-1.0 - 2.0 - 3.0) / 3)  # 3 tokens, not the span of 5


@pytest.mark.parametrize("seed", range(6))
def test_the_cases_reach_real_batches_at_every_seed(seed):
    cases = make_cases(seed)
    assert unreached(cases, empty_pairs=True) == []
    assert min(c.options.get("beta", 0.1) for c in cases) <= 0.02  # β's small end: a target of 25
    assert float_masks_off_dtype(cases) == []


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_ratios_of_thousands_of_nats(dtype):
    # Per-token log-ratios of ±2000: averaged h = 4000; the loss (4000 - 5)^2 stays finite.
    pc = torch.full((2, 8), -1.0, dtype=dtype, requires_grad=True)
    rc = torch.full((2, 8), -2001.0, dtype=dtype)
    pr = torch.full((2, 6), -2001.0, dtype=dtype, requires_grad=True)
    rr = torch.full((2, 6), -1.0, dtype=dtype)
    loss, chosen, rejected = ipo_loss(pc, pr, rc, rr, torch.ones(2, 8), torch.ones(2, 6))
    assert loss.dtype == dtype and chosen.dtype == dtype
    assert float(loss.detach()) == pytest.approx((4000.0 - 5.0) ** 2, rel=1e-6)
    gc, _ = torch.autograd.grad(loss, (pc, pr))
    torch.testing.assert_close(gc, torch.full_like(gc, 2 * (4000.0 - 5.0) / 8 / 2))


def test_outputs_shapes_dtypes_and_detached_rewards():
    pc, pr, rc, rr, mc, mr = _random(dtype=torch.float32)
    pc.requires_grad_(True)
    loss, chosen, rejected = ipo_loss(pc, pr, rc, rr, mc, mr)
    assert loss.shape == () and loss.dtype == torch.float32 and loss.grad_fn is not None
    assert chosen.shape == rejected.shape == (4,)
    assert not chosen.requires_grad and not rejected.requires_grad


def test_reference_passes_the_grader(grade_one):
    result = grade_one("ipo", solution_source("ipo"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    found = check(result, "behaviour").details
    for beta, target in ((0.1, 5.0), (0.5, 1.0), (1.0, 0.5)):
        assert curve(found, "h", β=beta)[-1] == pytest.approx(target, rel=1e-3)
        assert found["judged"][f"h_final_beta_{beta}"] == pytest.approx(target, rel=1e-3)
        assert found["judged"][f"h_target_beta_{beta}"] == target
    ends = [curve(found, "π(y_l)", β=b)[-1] for b in (0.1, 0.5, 1.0)]
    assert 0 < ends[0] < ends[1] < ends[2]


def test_stub_is_not_started_as_generated(grade_one, generated_stubs):
    kata = registry.get("ipo")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_behaviour_tells_ipo_from_dpo_and_from_the_guide_formula():
    from grader.catalog.ipo.spec import IPOBehaviour
    from solutions.dpo import dpo_loss

    def guide(pc, pr, rc, rr, mc, mr, beta=0.1):
        _, c, r = ipo_loss(pc, pr, rc, rr, mc, mr, beta=beta)
        mean = lambda lp, m: (lp * m).sum(-1) / m.sum(-1)
        h = mean(pc - rc, mc) - mean(pr - rr, mr)
        return ((beta * h - 1 / beta) ** 2).mean(), c, r

    behaviour = IPOBehaviour()
    assert behaviour.judge(behaviour.run(ipo_loss, 0)).status == "pass"
    for wrong in (dpo_loss, guide):
        result = behaviour.judge(behaviour.run(wrong, 0))
        assert result.status == "fail" and "not at 1/(2β)" in result.message


@pytest.mark.parametrize("seed", range(6))
def test_every_mask_width_meets_both_dtypes_at_every_seed(seed):
    assert widths_unreached(make_cases(seed)) == []


def test_the_reference_log_probs_are_graded_inputs_trained_frozen():
    """The loss is differentiable in the reference's log-probs (the grader checks that gradient;
    training takes the policy's alone), and the rewards are detached from them."""
    from grader.catalog.ipo.spec import SPEC
    assert len(SPEC.grad_inputs) == 4 and set(SPEC.trained) == {"policy_chosen_logps", "policy_rejected_logps"}
    pc, pr, rc, rr = (torch.randn(2, 3, dtype=torch.float64, requires_grad=True) for _ in range(4))
    m = torch.tensor([[1, 1, 0], [0, 1, 1]], dtype=torch.int16)
    loss, cr, rj = ipo_loss(pc, pr, rc, rr, m, m, beta=0.3)
    assert cr.grad_fn is None and rj.grad_fn is None
    loss.backward()
    assert torch.equal(rc.grad, -pc.grad) and torch.equal(rr.grad, -pr.grad)
