"""solutions/dpo.py against values derived by hand, closed-form gradients and invariances."""
from __future__ import annotations

import math

import pytest
import torch

from solutions.dpo import dpo_loss

D = torch.float64


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_hand_computed_single_pair():
    # chosen: two response tokens after one prompt token; rejected: one response token then padding
    pc = torch.tensor([[-9.0, -1.0, -2.0]], dtype=D)
    rc = torch.tensor([[-5.0, -1.5, -2.5]], dtype=D)
    mc = torch.tensor([[0, 1, 1]])
    pr = torch.tensor([[-3.0, -7.0]], dtype=D)
    rr = torch.tensor([[-2.0, -1.0]], dtype=D)
    mr = torch.tensor([[1.0, 0.0]])
    # chosen log-ratio = (-1 - -1.5) + (-2 - -2.5) = 1.0; rejected = -3 - -2 = -1.0; h = 2.0
    loss, cr, rj = dpo_loss(pc, pr, rc, rr, mc, mr, beta=0.5)
    assert loss.item() == pytest.approx(-math.log(sigmoid(1.0)), abs=1e-12)
    assert cr.tolist() == pytest.approx([0.5]) and rj.tolist() == pytest.approx([-0.5])


def test_batch_mean_and_default_beta():
    pc = torch.tensor([[-1.0], [-2.0]], dtype=D)
    rc = torch.tensor([[-1.0], [-1.0]], dtype=D)
    zeros = torch.zeros(2, 1, dtype=D)
    ones = torch.ones(2, 1)
    loss, _, _ = dpo_loss(pc, zeros, rc, zeros, ones, ones)
    # h = [0, -1], beta = 0.1 by default
    expected = (math.log(2) + -math.log(sigmoid(-0.1))) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-12)


def test_closed_form_gradient():
    g = torch.Generator().manual_seed(0)
    B, T, beta = 3, 4, 0.3
    pc = torch.randn(B, T, dtype=D, generator=g).requires_grad_()
    pr = torch.randn(B, T, dtype=D, generator=g).requires_grad_()
    rc, rr = torch.randn(B, T, dtype=D, generator=g), torch.randn(B, T, dtype=D, generator=g)
    mc = (torch.rand(B, T, generator=g) > 0.3).double()
    mr = (torch.rand(B, T, generator=g) > 0.3).double()
    loss, _, _ = dpo_loss(pc, pr, rc, rr, mc, mr, beta=beta)
    loss.backward()
    h = ((pc - rc) * mc).sum(-1) - ((pr - rr) * mr).sum(-1)
    coef = (beta * torch.sigmoid(-beta * h) / B).detach().unsqueeze(1)  # ∂L/∂π_c = −β·σ(−β·h)/B on response tokens
    torch.testing.assert_close(pc.grad, -coef * mc, rtol=0, atol=1e-12)
    torch.testing.assert_close(pr.grad, coef * mr, rtol=0, atol=1e-12)


def test_invariances():
    g = torch.Generator().manual_seed(2)
    pc, pr, rc, rr = (torch.randn(2, 5, dtype=D, generator=g) for _ in range(4))
    m = torch.ones(2, 5)
    base = dpo_loss(pc, pr, rc, rr, m, m)[0]
    # shifting policy and reference by the same amount changes no log-ratio
    torch.testing.assert_close(dpo_loss(pc + 3, pr - 2, rc + 3, rr - 2, m, m)[0], base)
    # masked-out tokens can hold anything
    mask = torch.tensor([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1]])
    junk = torch.where(mask.bool(), torch.zeros(2, 5, dtype=D), torch.full((2, 5), -1e4, dtype=D))
    torch.testing.assert_close(dpo_loss(pc + junk, pr, rc, rr, mask, m)[0], dpo_loss(pc, pr, rc, rr, mask, m)[0])
    # swapping chosen and rejected turns -log σ(x) into -log σ(-x): their difference is -x
    h = (pc - rc).sum(-1) - (pr - rr).sum(-1)
    per_row_swap = dpo_loss(pr, pc, rr, rc, m, m)[0] - base
    torch.testing.assert_close(per_row_swap, (0.1 * h).mean())


def test_extreme_log_ratios_are_finite():
    pc = torch.full((2, 1), -5000.0)
    rc = torch.tensor([[0.0], [-10000.0]])
    z = torch.zeros(2, 1)
    m = torch.ones(2, 1)
    loss, cr, _ = dpo_loss(pc.requires_grad_(), z, rc, z, m, m, beta=0.5)
    # rows: β·h = -2500 (loss 2500) and +2500 (loss ~0): mean 1250
    assert loss.item() == pytest.approx(1250.0, rel=1e-6)
    loss.backward()
    assert torch.isfinite(pc.grad).all()
    assert pc.grad.flatten().tolist() == pytest.approx([-0.25, 0.0], abs=1e-9)


def test_rewards_detached_and_inputs_untouched():
    pc = torch.randn(2, 3, requires_grad=True)
    pr = torch.randn(2, 3, requires_grad=True)
    rc, rr = torch.randn(2, 3), torch.randn(2, 3)
    m = torch.ones(2, 3, dtype=torch.bool)
    before = [t.detach().clone() for t in (pc, pr, rc, rr)]
    loss, cr, rj = dpo_loss(pc, pr, rc, rr, m, m)
    assert loss.requires_grad and not cr.requires_grad and not rj.requires_grad
    assert loss.dtype == torch.float32 and loss.dim() == 0 and cr.shape == (2,)
    for b, a in zip(before, (pc, pr, rc, rr)):
        assert torch.equal(b, a.detach())
