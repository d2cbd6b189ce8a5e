"""The reference SimPO loss against values derived without it: a hand-computed pair, the
closed-form gradient, invariances of the length-normalised reward, rewards 1000 nats apart;
and the catalogued mistakes' models, which must show at their check on every seed."""
from __future__ import annotations

import math

import pytest
import torch

from grader import registry
from grader.core import workspace
from grader.catalog.simpo.spec import SimPOBehaviour, make_cases
from solutions.simpo import simpo_loss
from grader.checks.details import curve
from tests.conftest import check, solution_source
from tests.test_reference_dpo import float_masks_off_dtype, unreached
from tests.test_reference_orpo import mask_kinds_unmet, padding_magnitudes_unmet


def _hand_pair(dtype=torch.float64):
    # Chosen: token 0 is prompt; response -1 and -2 -> m_c = -1.5.
    # Rejected: response -2, -3, -4; the last token is padding -> m_r = -3.   m_c - m_r = 1.5.
    pc = torch.tensor([[-5.0, -1.0, -2.0]], dtype=dtype)
    pr = torch.tensor([[-2.0, -3.0, -4.0, -0.5]], dtype=dtype)
    return pc, pr, torch.tensor([[0, 1, 1]]), torch.tensor([[1, 1, 1, 0]])


def test_hand_computed_pair():
    loss, chosen, rejected = simpo_loss(*_hand_pair(), beta=2.0, gamma=0.5)
    z = 2.0 * 1.5 - 0.5  # β·(m_c - m_r) - γ = 2.5
    assert float(loss) == pytest.approx(math.log1p(math.exp(-z)))
    assert float(chosen[0]) == pytest.approx(2.0 * -1.5)
    assert float(rejected[0]) == pytest.approx(2.0 * -3.0)
    loss_wide, _, _ = simpo_loss(*_hand_pair(), beta=10.0, gamma=3.0)  # z = 15 - 3 = 12
    assert float(loss_wide) == pytest.approx(math.log1p(math.exp(-12.0)))


def test_defaults_are_beta_2_gamma_half():
    default, _, _ = simpo_loss(*_hand_pair())
    explicit, _, _ = simpo_loss(*_hand_pair(), beta=2.0, gamma=0.5)
    assert float(default) == float(explicit)


def _random(b=4, tc=6, tr=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pc, pr = -3 * torch.rand(b, tc, generator=g, dtype=dtype), -3 * torch.rand(b, tr, generator=g, dtype=dtype)
    mc, mr = torch.zeros(b, tc), torch.zeros(b, tr)
    for i in range(b):
        mc[i, i % 3: tc - i % 2] = 1
        mr[i, 1: tr - i % 3] = 1
    return pc, pr, mc, mr


@pytest.mark.parametrize("beta,gamma", [(2.0, 0.5), (10.0, 3.0), (0.5, 0.0)])
def test_gradient_closed_form(beta, gamma):
    pc, pr, mc, mr = _random()
    pc.requires_grad_(True)
    pr.requires_grad_(True)
    loss, _, _ = simpo_loss(pc, pr, mc, mr, beta=beta, gamma=gamma)
    gc, gr = torch.autograd.grad(loss, (pc, pr))
    with torch.no_grad():
        nc, nr = mc.sum(-1, keepdim=True), mr.sum(-1, keepdim=True)
        z = beta * ((pc * mc).sum(-1, keepdim=True) / nc - (pr * mr).sum(-1, keepdim=True) / nr) - gamma
        b = pc.shape[0]
        # dL/dm_c = -β σ(-z) / B, spread over the n_c response tokens; the opposite sign for the rejected.
        torch.testing.assert_close(gc, -beta * torch.sigmoid(-z) * mc / nc / b)
        torch.testing.assert_close(gr, beta * torch.sigmoid(-z) * mr / nr / b)


def test_repeating_every_response_token_leaves_everything_unchanged():
    pc, pr, mc, mr = _random(seed=1)
    three = [x.repeat_interleave(3, dim=1) for x in (pc, mc)]
    two = [x.repeat_interleave(2, dim=1) for x in (pr, mr)]
    for a, b in zip(simpo_loss(three[0], two[0], three[1], two[1]), simpo_loss(pc, pr, mc, mr)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("beta,gamma", [(2.0, 0.5), (10.0, 3.0), (2.5, 1.0)])
def test_loss_is_log_2_when_the_reward_margin_equals_gamma(beta, gamma):
    pc, pr, mc, mr = _random(seed=2)
    _, c, r = simpo_loss(pc, pr, mc, mr, beta=beta, gamma=gamma)
    shift = (gamma - (c - r)) / beta  # [B]: what the chosen mean log-prob must gain
    loss, c2, r2 = simpo_loss(pc + shift.unsqueeze(1), pr, mc, mr, beta=beta, gamma=gamma)
    torch.testing.assert_close(c2 - r2, torch.full_like(c2, gamma))
    assert float(loss) == pytest.approx(math.log(2), abs=1e-12)


def test_no_reference_model_and_no_dependence_on_masked_positions_or_mask_dtype():
    pc, pr, mc, mr = _random(seed=3)
    noisy = [torch.where(m.bool(), x, torch.full_like(x, -1e4)) for x, m in ((pc, mc), (pr, mr))]
    want = simpo_loss(pc, pr, mc, mr)
    for kind in (torch.bool, torch.int64, torch.float32):
        for a, b in zip(simpo_loss(*noisy, mc.to(kind), mr.to(kind)), want):
            torch.testing.assert_close(a, b)


def test_swapping_chosen_and_rejected_flips_the_margin():
    pc, pr, mc, mr = _random(b=1, seed=4)
    loss, c, r = simpo_loss(pc, pr, mc, mr, beta=2.0, gamma=0.5)
    swapped, _, _ = simpo_loss(pr, pc, mr, mc, beta=2.0, gamma=0.5)
    delta = float(c[0] - r[0])
    assert float(loss) == pytest.approx(math.log1p(math.exp(-(delta - 0.5))))
    assert float(swapped) == pytest.approx(math.log1p(math.exp(-(-delta - 0.5))))


def test_zeros_inside_a_response_are_not_counted():
    # A multi-turn mask: the assistant's tokens 0, 1 and 4; tokens 2 and 3 are the user's turn.
    pc = torch.tensor([[-1.0, -2.0, -50.0, -60.0, -3.0]], dtype=torch.float64)
    _, chosen, _ = simpo_loss(pc, pc[:, :1], torch.tensor([[1, 1, 0, 0, 1]]), torch.ones(1, 1), beta=2.0)
    assert float(chosen[0]) == pytest.approx(2.0 * (-1.0 - 2.0 - 3.0) / 3)  # 3 tokens, not the span of 5


@pytest.mark.parametrize("seed", range(6))
def test_the_cases_reach_real_batches_at_every_seed(seed):
    cases = make_cases(seed)
    assert unreached(cases, empty_pairs=False) == []  # every response has a token (the statement)
    assert float_masks_off_dtype(cases) == []
    betas = {c.options.get("beta", 2.0) for c in cases}
    assert min(betas) <= 0.01 and 1.0 in betas and max(betas) >= 10.0  # β's range, and 1 where code may skip it
    assert mask_kinds_unmet(cases) == []  # every width, bool and float, beside float32 and float64 log-probs
    assert padding_magnitudes_unmet(cases) == []  # padding of -1e38 in both dtypes
    assert all(float(c.inputs[n].max()) <= 0 for c in cases for n in ("policy_chosen_logps", "policy_rejected_logps"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rewards_a_thousand_apart(dtype):
    # Chosen -100 per token, rejected -0.5: z = 10·(-99.5) - 1 = -996 -> loss 996, gradient -β/n_c/B.
    pc = torch.full((2, 8), -100.0, dtype=dtype, requires_grad=True)
    pr = torch.full((2, 6), -0.5, dtype=dtype, requires_grad=True)
    loss, chosen, rejected = simpo_loss(pc, pr, torch.ones(2, 8), torch.ones(2, 6), beta=10.0, gamma=1.0)
    assert loss.dtype == dtype and chosen.dtype == dtype
    assert float(loss.detach()) == pytest.approx(996.0, rel=1e-6)
    gc, gr = torch.autograd.grad(loss, (pc, pr))
    torch.testing.assert_close(gc, torch.full_like(gc, -10.0 / 8 / 2))
    torch.testing.assert_close(gr, torch.full_like(gr, 10.0 / 6 / 2))
    # The other way round (z = +994) the loss and its gradient are 0, not NaN.
    ahead_c, ahead_r = pr.detach().clone().requires_grad_(True), pc.detach().clone().requires_grad_(True)
    ahead, _, _ = simpo_loss(ahead_c, ahead_r, torch.ones(2, 6), torch.ones(2, 8), beta=10.0, gamma=1.0)
    assert float(ahead.detach()) == 0.0
    assert all(float(g.abs().max()) == 0.0 for g in torch.autograd.grad(ahead, (ahead_c, ahead_r)))


def test_outputs_shapes_dtypes_and_detached_rewards():
    pc, pr, mc, mr = _random(dtype=torch.float32)
    pc.requires_grad_(True)
    loss, chosen, rejected = simpo_loss(pc, pr, mc, mr)
    assert loss.shape == () and loss.dtype == torch.float32 and loss.grad_fn is not None
    assert chosen.shape == rejected.shape == (4,)
    assert not chosen.requires_grad and not rejected.requires_grad


# ---------------------------------------------------------------- the grader's side
def test_reference_passes_the_grader(grade_one):
    result = grade_one("simpo", solution_source("simpo"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    behaviour = check(result, "behaviour")
    assert "log 2 = 0.693147" in behaviour.message
    margin = curve(behaviour.details, "β·(m_c - m_r)")
    assert margin[-1] > 0.5 > margin[0]
    assert behaviour.details["judged"]["margin_final"] == pytest.approx(margin[-1], abs=1e-6)


def test_stub_is_not_started_as_generated(grade_one, generated_stubs):
    kata = registry.get("simpo")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_behaviour_tells_simpo_from_summed_rewards_and_from_a_misplaced_margin():
    behaviour = SimPOBehaviour()
    assert behaviour.judge(behaviour.run(simpo_loss, 0)).status == "pass"

    def summed(pc, pr, mc, mr, beta=2.0, gamma=0.5):  # the masked mean of n·lp is the masked sum
        return simpo_loss(pc * mc.sum(-1, keepdim=True), pr * mr.sum(-1, keepdim=True), mc, mr, beta=beta, gamma=gamma)

    def margin_times_beta(pc, pr, mc, mr, beta=2.0, gamma=0.5):
        return simpo_loss(pc, pr, mc, mr, beta=beta, gamma=beta * gamma)

    result = behaviour.judge(behaviour.run(summed, 0))
    assert result.status == "fail" and "repeating tokens changed the loss" in result.message
    result = behaviour.judge(behaviour.run(margin_times_beta, 0))
    assert result.status == "fail" and "log 2" in result.message
