"""solutions/get_probs.py against values derived by hand, and its known properties."""
from __future__ import annotations

import math

import torch

from solutions.get_probs import get_probs


def test_hand_computed_values():
    logits = torch.tensor([[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    labels = torch.tensor([[2, 1]])
    z = math.exp(1) + math.exp(2) + math.exp(3)
    expected = torch.tensor([[3 - math.log(z), -math.log(3)]], dtype=torch.float64)
    torch.testing.assert_close(get_probs(logits, labels), expected, rtol=0, atol=1e-12)


def test_logit_gaps_of_thousands_stay_finite_and_exact():
    logits = torch.tensor([[[0.0, 1000.0], [-2000.0, 2000.0]]])
    out = get_probs(logits, torch.tensor([[0, 0]]))
    # log σ(-1000) = -1000 - log(1 + e^-1000) = -1000 to float precision
    torch.testing.assert_close(out, torch.tensor([[-1000.0, -4000.0]]))


def test_gradient_is_onehot_minus_softmax():
    logits = torch.randn(2, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    labels = torch.tensor([[0, 4, 2], [1, 1, 3]])
    get_probs(logits, labels).sum().backward()
    expected = torch.nn.functional.one_hot(labels, 5).double() - torch.softmax(logits.detach(), -1)
    torch.testing.assert_close(logits.grad, expected, rtol=0, atol=1e-12)


def test_shift_invariance_dtype_and_probabilities_sum_to_one():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 6, generator=g)
    labels = torch.randint(0, 6, (2, 4), generator=g)
    torch.testing.assert_close(get_probs(logits + 7.5, labels), get_probs(logits, labels))
    assert get_probs(logits, labels).dtype == torch.float32
    assert get_probs(logits.double(), labels).dtype == torch.float64
    every = torch.stack([get_probs(logits, torch.full_like(labels, v)) for v in range(6)])
    torch.testing.assert_close(every.exp().sum(0), torch.ones(2, 4))


def test_the_battery_reaches_past_chunk_sizes_at_every_seed():
    """A real vocabulary with its largest logit last, 33 and 257 rows and 300 positions, at every seed."""
    from grader.catalog.get_probs.spec import make_cases

    for seed in range(3):
        shapes = [tuple(c.inputs["logits"].shape) for c in make_cases(seed)]
        assert any(v == 50257 for _, _, v in shapes) and any(b >= 33 for b, _, _ in shapes), (seed, shapes)
        assert any(b >= 257 for b, _, _ in shapes), (seed, shapes)
        assert any(t > 256 for _, t, _ in shapes), (seed, shapes)
        vocab = next(c.inputs["logits"] for c in make_cases(seed) if c.inputs["logits"].shape[-1] == 50257)
        assert bool((vocab.argmax(-1) == 50256).all())


def test_the_battery_scores_real_vocabulary_ids_at_every_seed():
    """GPT-2's end-of-text id 50256 (its pad id too) and an id past int16 are labels of the real
    vocabulary's case at every seed. Labels stay int64 (F.one_hot and cross_entropy refuse
    other widths)."""
    from grader.catalog.get_probs.spec import make_cases

    for seed in range(6):
        cases = make_cases(seed)
        labels = next(c.inputs["labels"] for c in cases if c.inputs["logits"].shape[-1] == 50257)
        assert bool((labels == 50256).any()) and bool(((labels > 32767) & (labels != 50256)).any()), seed
        assert all(c.inputs["labels"].dtype == torch.int64 and "labels" not in c.layout or
                   c.layout["labels"] == "expanded" for c in cases), seed
