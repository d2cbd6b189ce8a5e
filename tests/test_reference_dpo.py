"""solutions/dpo.py against values derived by hand, closed-form gradients and invariances."""
from __future__ import annotations

import math

import pytest
import torch

from grader.catalog.dpo.spec import make_cases
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


def test_a_pair_with_both_responses_empty_counts_in_the_batch_mean():
    # Row 1's prompt was longer than the maximum length: both its responses are truncated away, h = 0.
    pc = torch.tensor([[-1.0, -2.0], [-3.0, -4.0]], dtype=D, requires_grad=True)
    rc = torch.tensor([[-2.0, -3.0], [-1.0, -1.0]], dtype=D)
    pr, rr = torch.full((2, 3), -1.0, dtype=D), torch.full((2, 3), -1.5, dtype=D)
    mc, mr = torch.tensor([[1, 1], [0, 0]]), torch.tensor([[1, 1, 0], [0, 0, 0]])
    loss, cr, rj = dpo_loss(pc, pr, rc, rr, mc, mr, beta=0.5)
    # row 0: chosen log-ratio 1 + 1 = 2, rejected 0.5 + 0.5 = 1, h = 1; row 1: h = 0, loss log 2
    assert loss.item() == pytest.approx((-math.log(sigmoid(0.5)) + math.log(2)) / 2, abs=1e-12)
    assert cr.tolist() == [1.0, 0.0] and rj.tolist() == [0.5, 0.0]
    (grad,) = torch.autograd.grad(loss, pc)
    assert grad[1].tolist() == [0.0, 0.0]
    assert grad[0].tolist() == pytest.approx([-0.5 * sigmoid(-0.5) / 2] * 2)  # -β·σ(-β·h)/B: B = 2, not 1


def test_a_batch_of_only_empty_pairs_has_loss_log_2_and_no_gradient():
    pc = torch.randn(3, 4, dtype=D, requires_grad=True)
    pr, rc, rr = (torch.randn(3, 4, dtype=D) for _ in range(3))
    empty = torch.zeros(3, 4, dtype=torch.bool)
    loss, cr, rj = dpo_loss(pc, pr, rc, rr, empty, empty, beta=0.3)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-12)
    assert not cr.any() and not rj.any()
    assert not torch.autograd.grad(loss, pc)[0].any()


def runs(mask: torch.Tensor) -> torch.Tensor:
    """[B, T] mask -> [B]: how many separate runs of counted positions each row has."""
    m = mask.bool().to(torch.int64)
    return m[:, 0] + (m[:, 1:] > m[:, :-1]).sum(-1)


MASKS = ("chosen_mask", "rejected_mask")


def passed_dtype(case, name: str) -> torch.dtype:
    """The dtype a case's input reaches the function in: an integer width named by its layout."""
    kind = case.layout.get(name)
    return getattr(torch, kind) if kind in ("int32", "int16", "int8", "uint8") else case.inputs[name].dtype


def unreached(cases: list, empty_pairs: bool) -> list[str]:
    """What the statement's real-batch and mask ranges promise and no case of `cases` has: B = 33,
    B = 257 with over 2048 tokens a side, a response of over 4096 tokens, zeros inside a response,
    int masks of narrower widths, bool masks beside float32 log-probs (with tokens counted), the
    two masks of different kinds (a bool chosen mask beside an int and beside a float rejected
    one), and (`empty_pairs`) a pair whose two responses are both empty beside a pair that is
    not, and a batch of only such pairs."""
    masks = [(c.inputs["chosen_mask"].bool(), c.inputs["rejected_mask"].bool()) for c in cases]
    kinds = [tuple(passed_dtype(c, n) for n in MASKS) for c in cases]
    both_empty = [~(mc.any(-1) | mr.any(-1)) for mc, mr in masks]  # [B] per case
    want = {
        "B = 33": any(mc.shape[0] >= 33 for mc, _ in masks),
        "B = 257, over 2048 tokens": any(mc.shape[0] >= 257 and int(mc.sum()) > 2048 for mc, _ in masks),
        "a response of over 4096 tokens": any(bool((m.sum(-1) > 4096).any()) for pair in masks for m in pair),
        "zeros inside a response": any(bool((runs(m) > 1).any()) for pair in masks for m in pair),
        "int32 masks": any(torch.int32 in k for k in kinds),
        "int8 or uint8 masks": any(torch.int8 in k or torch.uint8 in k for k in kinds),
        "bool masks with float32 log-probs": any(
            c.dtype == torch.float32 and d == torch.bool and bool(m.any())
            for c, k, pair in zip(cases, kinds, masks) for d, m in zip(k, pair)),
        "a bool chosen mask beside an int rejected one": any(
            kc == torch.bool and not (kr.is_floating_point or kr == torch.bool) for kc, kr in kinds),
        "a bool chosen mask beside a float rejected one": any(kc == torch.bool and kr.is_floating_point
                                                              for kc, kr in kinds),
    }
    if empty_pairs:
        want["an empty pair in a batch"] = any(bool(e.any()) and not bool(e.all()) for e in both_empty)
        want["a batch of only empty pairs"] = any(bool(e.all()) for e in both_empty)
    return [k for k, ok in want.items() if not ok]


@pytest.mark.parametrize("seed", range(6))
def test_the_cases_reach_real_batches_at_every_seed(seed):
    cases = make_cases(seed)
    assert unreached(cases, empty_pairs=True) == []
    assert min(c.options.get("beta", 0.1) for c in cases) <= 0.02  # β's small end


WIDTHS = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)


def widths_unreached(cases: list) -> list[str]:
    """The (mask kind, log-prob dtype) pairs no case has (a mask cast to a fixed float dtype shows
    only beside float64 log-probs), and the 8-bit widths never counting over 255 tokens in a row
    (a count kept in the mask's dtype wraps there)."""
    seen = {(passed_dtype(c, n), c.dtype) for c in cases for n in MASKS}
    seen |= {("float", c.dtype) for c in cases for n in MASKS if c.inputs[n].is_floating_point()}
    missing = [f"{str(k).removeprefix('torch.')} masks beside {str(d)[6:]}" for k in (*WIDTHS, "float")
               for d in (torch.float32, torch.float64) if (k, d) not in seen]
    long_counts = {passed_dtype(c, n) for c in cases for n in MASKS if int(c.inputs[n].bool().sum(-1).max()) > 255}
    return missing + [f"{w} masks counting over 255 tokens" for w in ("int8", "uint8")
                      if getattr(torch, w) not in long_counts]


@pytest.mark.parametrize("seed", range(6))
def test_every_mask_width_meets_both_dtypes_at_every_seed(seed):
    assert widths_unreached(make_cases(seed)) == []


def test_the_reference_log_probs_are_graded_inputs_trained_frozen():
    """A reference that carries a graph (the policy with adapters off, run without no_grad): the
    grader differentiates the loss w.r.t. it too, so the rewards must be detached from it."""
    from grader.catalog.dpo.spec import SPEC
    assert set(SPEC.grad_inputs) == {"policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps",
                                     "ref_rejected_logps"}
    assert set(SPEC.trained) == {"policy_chosen_logps", "policy_rejected_logps"}
    pc, pr, rc, rr = (torch.randn(2, 3, dtype=torch.float64, requires_grad=True) for _ in range(4))
    m = torch.tensor([[1, 1, 0], [0, 1, 1]])
    loss, cr, rj = dpo_loss(pc, pr, rc, rr, m, m, beta=0.3)
    assert cr.grad_fn is None and rj.grad_fn is None and not cr.requires_grad
    loss.backward()
    assert torch.equal(rc.grad, -pc.grad) and torch.equal(rr.grad, -pr.grad)


def float_masks_off_dtype(cases: list) -> list[str]:
    """Cases passing a float mask in another dtype than their log-probs' (out of range)."""
    return [c.name for c in cases for n in MASKS
            if c.inputs[n].is_floating_point() and c.inputs[n].dtype != c.dtype]


@pytest.mark.parametrize("seed", range(6))
def test_float_masks_are_in_the_log_probs_dtype(seed):
    assert float_masks_off_dtype(make_cases(seed)) == []


@pytest.mark.parametrize("seed", range(6))
def test_a_float32_case_judges_the_gradient_of_confidently_wrong_saturated_pairs(seed):
    """float32 pairs with β·h below -85 (past exp's overflow), at a tolerance well below the
    gradient β/B they should get: code that treats saturated pairs as constants shows."""
    from grader.catalog.dpo.spec import _h
    from grader.catalog.pairs import REF_NAMES
    from grader.core.tolerances import tolerance

    found = []
    for c in make_cases(seed):
        beta, b = c.options.get("beta", 0.1), c.inputs["chosen_mask"].shape[0]
        x = beta * _h(*(c.inputs[n].to(D) for n in REF_NAMES))
        if c.dtype == torch.float32 and float(x.min()) < -85 and tolerance("float32", c.scale)[1] < 0.01 * beta / b:
            found.append(c.name)
    assert found
