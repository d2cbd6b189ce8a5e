"""The reference sequence_logps against values derived without it: hand-computed log-probs,
the closed-form gradient, padding invariance, and logit gaps of hundreds and thousands."""
from __future__ import annotations

import math

import pytest
import torch

from grader import registry
from grader.core import workspace
from solutions.sequence_logps import sequence_logps
from tests.conftest import check, solution_source

# One row, T=3, V=2. Token 1 (id 0) is predicted by logits[0] = [0, 1]; token 2 (id 1) by
# logits[1] = [2, 0]; logits[2] predict past the end and never count.
LOGITS = torch.tensor([[[0.0, 1.0], [2.0, 0.0], [5.0, -5.0]]], dtype=torch.float64)
IDS = torch.tensor([[1, 0, 1]])
LP1 = 0.0 - math.log(math.exp(0.0) + math.exp(1.0))  # log p(token 1 = id 0 | logits[0])
LP2 = 0.0 - math.log(math.exp(2.0) + math.exp(0.0))  # log p(token 2 = id 1 | logits[1])


@pytest.mark.parametrize("mask, average, expected", [
    ([0, 1, 1], False, LP1 + LP2),
    ([0, 1, 1], True, (LP1 + LP2) / 2),
    ([0, 0, 1], False, LP2),
    ([0, 0, 1], True, LP2),
    ([0, 1, 0], True, LP1),
    ([1, 1, 1], False, LP1 + LP2),  # token 0 never counts, whatever its mask
    ([1, 0, 0], True, 0.0),  # only token 0 marked: nothing counts, the mean is 0, not NaN
    ([0, 0, 0], False, 0.0),
])
def test_hand_computed(mask, average, expected):
    out = sequence_logps(LOGITS, IDS, torch.tensor([mask], dtype=torch.float64), average=average)
    assert out.shape == (1,) and out.dtype == torch.float64
    assert float(out[0]) == pytest.approx(expected, abs=1e-12)


def _random(b=3, t=7, v=9, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, v, generator=g, dtype=torch.float64).to(dtype) * 3
    ids = torch.randint(0, v, (b, t), generator=g)
    mask = torch.zeros(b, t)
    mask[0, 2:6] = 1
    mask[1, 0:4] = 1
    mask[2, 5:] = 1
    return logits, ids, mask


def test_default_is_the_sum_and_the_mean_is_the_sum_over_the_count():
    logits, ids, mask = _random()
    total = sequence_logps(logits, ids, mask)
    assert torch.equal(total, sequence_logps(logits, ids, mask, average=False))
    count = mask[:, 1:].sum(-1)  # token 0 never counts
    torch.testing.assert_close(sequence_logps(logits, ids, mask, average=True) * count, total)


def test_equals_a_token_by_token_sum_of_log_softmax():
    logits, ids, mask = _random(seed=1)
    for b in range(logits.shape[0]):
        expected = sum(float(torch.log_softmax(logits[b, t - 1], -1)[ids[b, t]])
                       for t in range(1, logits.shape[1]) if mask[b, t])
        assert float(sequence_logps(logits, ids, mask)[b]) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("kind", [torch.bool, torch.int64, torch.int32, torch.float32, torch.float64])
def test_mask_dtype_does_not_matter(kind):
    logits, ids, mask = _random(dtype=torch.float32)
    for average in (False, True):
        want = sequence_logps(logits, ids, mask, average=average)
        got = sequence_logps(logits, ids, mask.to(kind), average=average)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("average", [False, True])
def test_padding_with_mask_zero_changes_nothing(average):
    logits, ids, mask = _random(seed=2)
    g = torch.Generator().manual_seed(5)
    pad = 6
    padded = sequence_logps(torch.cat([logits, 100 * torch.randn(3, pad, 9, generator=g, dtype=torch.float64)], 1),
                            torch.cat([ids, torch.randint(0, 9, (3, pad), generator=g)], 1),
                            torch.cat([mask, torch.zeros(3, pad)], 1), average=average)
    torch.testing.assert_close(padded, sequence_logps(logits, ids, mask, average=average), rtol=0, atol=1e-12)


def test_rows_with_nothing_counted_score_zero_with_a_finite_gradient():
    logits, ids, _ = _random()
    mask = torch.zeros(3, 7)
    mask[1, 0] = 1  # only token 0: still nothing counts
    logits.requires_grad_(True)
    for average in (False, True):
        out = sequence_logps(logits, ids, mask, average=average)
        assert torch.equal(out, torch.zeros(3, dtype=torch.float64))
        (grad,) = torch.autograd.grad(out.sum(), logits)
        assert torch.equal(grad, torch.zeros_like(grad))


def test_gradient_is_onehot_minus_softmax_at_the_predicting_position():
    logits, ids, mask = _random(seed=3)
    logits.requires_grad_(True)
    (grad,) = torch.autograd.grad(sequence_logps(logits, ids, mask).sum(), logits)
    with torch.no_grad():
        expected = torch.zeros_like(logits)
        for b in range(3):
            for t in range(6):  # logits[:, t] are differentiated only when token t + 1 counts
                if mask[b, t + 1]:
                    expected[b, t] = torch.nn.functional.one_hot(ids[b, t + 1], 9) - torch.softmax(logits[b, t], -1)
    torch.testing.assert_close(grad, expected)
    assert torch.equal(grad[:, -1], torch.zeros_like(grad[:, -1]))  # the last position predicts nothing


def test_t_equal_one_has_no_prediction():
    out = sequence_logps(torch.randn(2, 1, 4, requires_grad=True), torch.tensor([[1], [2]]), torch.ones(2, 1),
                         average=True)
    assert torch.equal(out.detach(), torch.zeros(2)) and out.grad_fn is not None


@pytest.mark.parametrize("dtype, gap", [(torch.float32, 300.0), (torch.float64, 3000.0)])
def test_logit_gaps_of_hundreds_and_thousands(dtype, gap):
    # Every counted token gets logit 0 while another token gets `gap`: log p = -gap - log(1 + (V-2)e^-gap) = -gap.
    v, t = 5, 4
    ids = torch.tensor([[0, 1, 2, 3]])
    logits = torch.zeros(1, t, v, dtype=dtype)
    logits[0, :, 4] = gap
    mask = torch.tensor([[0, 1, 1, 1]])
    out = sequence_logps(logits, ids, mask)
    assert out.dtype == dtype and torch.isfinite(out).all()
    assert float(out[0]) == pytest.approx(-3 * gap, rel=1e-6)
    assert float(sequence_logps(logits, ids, mask, average=True)[0]) == pytest.approx(-gap, rel=1e-6)


def test_inputs_are_not_modified():
    logits, ids, mask = _random()
    before = [x.clone() for x in (logits, ids, mask)]
    sequence_logps(logits, ids, mask, average=True)
    assert all(torch.equal(a, b) for a, b in zip(before, (logits, ids, mask)))


def test_reference_passes_the_grader(grade_one):
    result = grade_one("sequence_logps", solution_source("sequence_logps"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    behaviour = check(result, "behaviour")
    judged = behaviour.details["judged"]
    assert behaviour.details["series"] == []
    assert judged["next_mean"] == pytest.approx(0.0, abs=1e-3)
    assert judged["own_mean"] == pytest.approx(-20.0, abs=0.5)
    assert judged["own_sum_padded"] == judged["own_sum"]


def test_stub_is_not_started_as_generated(grade_one, generated_stubs):
    kata = registry.get("sequence_logps")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_behaviour_tells_the_alignment_and_padding_apart():
    from grader.catalog.sequence_logps.behaviour import AlignmentBehaviour

    def unshifted(logits, input_ids, response_mask, average=False):
        lp = torch.log_softmax(logits, -1).gather(-1, input_ids.unsqueeze(-1)).squeeze(-1) * response_mask
        return lp.sum(-1) / response_mask.sum(-1) if average else lp.sum(-1)

    def padded_mean(logits, input_ids, response_mask, average=False):
        total = sequence_logps(logits, input_ids, response_mask)
        return total / (logits.shape[1] - 1) if average else total

    behaviour = AlignmentBehaviour()
    assert behaviour.judge(behaviour.run(sequence_logps, 0)).status == "pass"
    result = behaviour.judge(behaviour.run(unshifted, 0))
    assert result.status == "fail" and "scores token t with logits[:, t]" in result.message
    result = behaviour.judge(behaviour.run(padded_mean, 0))
    assert result.status == "fail" and "padding tokens with mask 0 moved" in result.message


def test_turns_leave_a_gap_inside_the_response_at_every_length():
    from grader.catalog.sequence_logps.spec import _turns

    for length in range(4, 80):
        for seed in range(5):
            mask = _turns(torch.Generator().manual_seed(seed), length)
            ones = mask.nonzero().flatten()
            assert mask[0] == 0 and len(ones) >= 2, (length, seed)
            assert bool((mask[int(ones[0]):int(ones[-1]) + 1] == 0).any()), (length, seed)  # a user turn inside


def test_the_battery_holds_multi_turn_masks_and_sizes_past_chunk_sizes_at_every_seed():
    """A zero inside a counted response (multi-turn masks), 33 and 257 rows, and a row counted at
    256 and 512 (the boundaries of chunks of 256) and past 4096 tokens (a maximum length) are
    graded at every seed."""
    from grader.catalog.sequence_logps.spec import make_cases

    def gap_inside(mask: torch.Tensor) -> bool:
        counted = mask[:, 1:].bool()
        for row in counted:
            ones = row.nonzero().flatten()
            if len(ones) >= 2 and not bool(row[int(ones[0]):int(ones[-1]) + 1].all()):
                return True
        return False

    for seed in range(25):
        cases = make_cases(seed)
        masks = [c.inputs["response_mask"] for c in cases]
        assert sum(gap_inside(m) for m in masks) >= 2, seed
        assert any(m.shape[0] >= 33 for m in masks) and any(m.shape[0] >= 257 for m in masks), seed
        assert any(m.shape[1] > 512 and bool(m[:, [256, 512]].bool().all(-1).any()) for m in masks), seed
        assert any(bool((m[:, 1:].bool().sum(-1) > 4096).any()) for m in masks), seed


NARROW = ("int32", "int16", "int8", "uint8")  # mask widths a case passes by its layout


def test_the_battery_reaches_what_the_statement_allows_at_every_seed():
    """At every seed: a real vocabulary with the end-of-text id 50256 counted; the mean over more
    than 256 counted tokens; -inf in an empty row's logits and at the last position's logit of
    input_ids[:, 0], under both reductions, and a last position of -inf only; non-contiguous ids;
    int64 ids only (as indexing wants them); masks of every width and bool beside float32 and
    float64 logits, the 8-bit ones counting over 255 tokens under the mean; float masks only in
    the logits' dtype."""
    from grader.catalog.sequence_logps.spec import make_cases

    for seed in range(6):
        cases = make_cases(seed)
        for c in cases:
            mask = c.inputs["response_mask"]
            assert not mask.is_floating_point() or mask.dtype == c.inputs["logits"].dtype, (seed, c.name)

        def counted_ids(c):
            return c.inputs["input_ids"][:, 1:][c.inputs["response_mask"][:, 1:].bool()]
        assert any(c.inputs["logits"].shape[-1] == 50257 and bool((counted_ids(c) == 50256).any()) for c in cases)
        assert any(c.options.get("average") and bool((c.inputs["response_mask"][:, 1:].bool().sum(-1) > 256).any())
                   for c in cases), seed

        def inf_where_allowed(c):
            logits, ids = c.inputs["logits"], c.inputs["input_ids"]
            empty = ~c.inputs["response_mask"][:, 1:].bool().any(-1)
            in_empty_row = bool(torch.isinf(logits[empty]).any())
            at_last = bool(torch.isinf(logits[:, -1].gather(-1, ids[:, :1])).all())
            return in_empty_row and at_last
        assert {bool(c.options.get("average")) for c in cases if inf_where_allowed(c)} == {False, True}, seed
        assert any(bool(torch.isinf(c.inputs["logits"][:, -1]).all()) for c in cases), seed
        layouts = [c.layout for c in cases]
        assert any(lay.get("input_ids") in ("sliced", "transposed") for lay in layouts), seed
        assert all(lay.get("input_ids") in (None, "sliced", "transposed", "expanded") for lay in layouts), seed
        assert all(c.inputs["input_ids"].dtype == torch.int64 for c in cases), seed
        def kind(c):
            width = c.layout.get("response_mask")
            return width if width in NARROW else str(c.inputs["response_mask"].dtype)[6:]
        pairs = {(kind(c), c.inputs["logits"].dtype) for c in cases}
        for k in (*NARROW, "int64", "bool", "float32", "float64"):
            assert {d for kk, d in pairs if kk == k} == ({torch.float32, torch.float64} if k[:5] != "float"
                                                         else {getattr(torch, k)}), (seed, k)
        for k in ("int8", "uint8"):
            assert any(kind(c) == k and c.options.get("average")
                       and bool((c.inputs["response_mask"][:, 1:].bool().sum(-1) > 255).any()) for c in cases), (seed, k)


def test_minus_inf_wherever_the_statement_allows_it_changes_nothing():
    """-inf in every logit but the labels' (the last position, an empty row, id 0) leaves every
    score finite, and an empty row scores 0 with a zero gradient."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 6, dtype=torch.float64, generator=g)
    ids = torch.randint(1, 6, (2, 5), generator=g)
    mask = torch.tensor([[0, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
    banned = torch.ones_like(logits, dtype=torch.bool)
    banned[:, :-1].scatter_(-1, ids[:, 1:].unsqueeze(-1), False)
    banned[:, -1, 0] = False
    masked = logits.masked_fill(banned, float("-inf")).requires_grad_()
    for average in (False, True):
        out = sequence_logps(masked, ids, mask, average=average)
        assert bool(out.isfinite().all()) and float(out[1].detach()) == 0.0
        (grad,) = torch.autograd.grad(out.sum(), masked)
        assert bool(grad.isfinite().all()) and bool((grad[1] == 0).all())
