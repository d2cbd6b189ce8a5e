"""The reference ORPO loss against values derived without it: a hand-computed batch written
out with math.log and math.exp, the closed-form gradient, λ = 0 as plain SFT, mean log-probs
from -1e-6 down to -1000; the row combination the grader uses; the mistake models."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from grader import registry
from grader.core import workspace
from grader.catalog.orpo.spec import SPEC, ORPOBehaviour, combine_rows, make_cases
from solutions.orpo import orpo_loss
from grader.checks.details import curve
from tests.conftest import check, solution_source
from tests.test_reference_dpo import unreached


def log_odds(m: float) -> float:
    return m - math.log(-math.expm1(m))


def _hand_batch(dtype=torch.float64):
    # Row 0. Chosen: token 0 is prompt; response -0.5, -1.5 -> m = -1. Rejected: -2, -4, padding -> m = -3.
    # Row 1. Chosen: one response token -3 -> m = -3. Rejected: -1 (prompt), -0.25, -0.75 -> m = -0.5.
    pc = torch.tensor([[-9.0, -0.5, -1.5], [-3.0, -7.0, -7.0]], dtype=dtype)
    pr = torch.tensor([[-2.0, -4.0, -0.1], [-1.0, -0.25, -0.75]], dtype=dtype)
    mc = torch.tensor([[0, 1, 1], [1, 0, 0]])
    mr = torch.tensor([[1, 1, 0], [0, 1, 1]])
    return pc, pr, mc, mr


def test_hand_computed_batch():
    loss, nll, or_loss = orpo_loss(*_hand_batch(), lam=0.5)
    want_nll = (0.5 + 1.5 + 3.0) / 3  # token-weighted: 3 chosen response tokens in the batch, not (1 + 3) / 2
    rows = [log_odds(-1.0) - log_odds(-3.0), log_odds(-3.0) - log_odds(-0.5)]
    want_or = sum(math.log1p(math.exp(-x)) for x in rows) / 2  # -log σ(x) = log(1 + e^-x)
    assert float(nll) == pytest.approx(want_nll)
    assert float(or_loss) == pytest.approx(want_or)
    assert float(loss) == pytest.approx(want_nll + 0.5 * want_or)
    default, _, _ = orpo_loss(*_hand_batch())
    assert float(default) == pytest.approx(want_nll + 0.1 * want_or)


def test_odds_are_those_of_the_average_token_probability():
    # m = log 0.8: odds 0.8 / 0.2 = 4; m = log 0.5: odds 1. The odds ratio is 4.
    pc = torch.tensor([[math.log(0.8)] * 3], dtype=torch.float64)
    pr = torch.tensor([[math.log(0.5)] * 2], dtype=torch.float64)
    _, _, or_loss = orpo_loss(pc, pr, torch.ones(1, 3), torch.ones(1, 2))
    assert float(or_loss) == pytest.approx(-math.log(4 / (4 + 1)))  # -log σ(log 4) = -log(4/5)


def _random(b=4, tc=6, tr=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    pc = -0.05 - 3 * torch.rand(b, tc, generator=g, dtype=dtype)
    pr = -0.05 - 3 * torch.rand(b, tr, generator=g, dtype=dtype)
    mc, mr = torch.zeros(b, tc), torch.zeros(b, tr)
    for i in range(b):
        mc[i, i % 3: tc - i % 2] = 1
        mr[i, 1: tr - i % 3] = 1
    return pc, pr, mc, mr


@pytest.mark.parametrize("lam", [0.1, 1.0, 3.0])
def test_gradient_closed_form(lam):
    pc, pr, mc, mr = _random()
    pc.requires_grad_(True)
    pr.requires_grad_(True)
    loss, _, _ = orpo_loss(pc, pr, mc, mr, lam=lam)
    gc, gr = torch.autograd.grad(loss, (pc, pr))
    with torch.no_grad():
        nc, nr = mc.sum(-1, keepdim=True), mr.sum(-1, keepdim=True)
        m_c, m_r = (pc * mc).sum(-1, keepdim=True) / nc, (pr * mr).sum(-1, keepdim=True) / nr
        delta = (m_c - torch.log(-torch.expm1(m_c))) - (m_r - torch.log(-torch.expm1(m_r)))
        b = pc.shape[0]
        # d log odds / dm = 1 / (1 - e^m); d(-log σ(Δ)) / dΔ = -σ(-Δ); the NLL spreads -1/N over all N tokens.
        want_c = -mc / mc.sum() - lam * torch.sigmoid(-delta) / b / (-torch.expm1(m_c)) * mc / nc
        want_r = lam * torch.sigmoid(-delta) / b / (-torch.expm1(m_r)) * mr / nr
        torch.testing.assert_close(gc, want_c)
        torch.testing.assert_close(gr, want_r)


def test_lambda_zero_is_sft_on_the_response():
    pc, pr, mc, mr = _random(seed=1)
    loss, nll, _ = orpo_loss(pc, pr, mc, mr, lam=0.0)
    assert float(loss) == float(nll) == pytest.approx(float(-pc[mc.bool()].mean()))
    # ... which is the cross-entropy a causal LM would report over those tokens.
    logits = torch.randn(4, 6, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 11, (4, 6), generator=torch.Generator().manual_seed(1))
    token_logps = torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    _, nll, _ = orpo_loss(token_logps, pr, mc, mr, lam=0.0)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), labels.masked_fill(~mc.bool(), -100).reshape(-1))
    torch.testing.assert_close(nll, ce)


def test_or_loss_does_not_depend_on_lambda():
    pc, pr, mc, mr = _random(seed=3)
    logged = [orpo_loss(pc, pr, mc, mr, lam=lam)[1:] for lam in (0.0, 0.1, 2.0)]
    for nll, or_loss in logged[1:]:
        assert torch.equal(nll, logged[0][0]) and torch.equal(or_loss, logged[0][1])
    assert float(logged[0][1]) > 0  # an SFT-only run (λ = 0) still logs eq. 7


def test_zeros_inside_a_response_are_not_counted():
    # A multi-turn mask: the assistant's tokens 0, 1 and 4; tokens 2 and 3 are the user's turn.
    pc = torch.tensor([[-1.0, -2.0, -50.0, -60.0, -3.0]], dtype=torch.float64)
    turns = torch.tensor([[1, 1, 0, 0, 1]])
    _, nll, or_loss = orpo_loss(pc, pc[:, :1], turns, torch.ones(1, 1))
    assert float(nll) == pytest.approx(2.0)  # (1 + 2 + 3) / 3, not over the span of 5
    assert float(or_loss) == pytest.approx(math.log1p(math.exp(-(log_odds(-2.0) - log_odds(-1.0)))))


@pytest.mark.parametrize("seed", range(6))
def test_the_cases_reach_real_batches_and_lambda_zero_at_every_seed(seed):
    cases = make_cases(seed)
    assert unreached(cases, empty_pairs=False) == []  # every response has a token (the statement)
    assert any(c.options.get("lam") == 0 for c in cases)
    # B = 257 with more than 2048 response tokens (micro-batches of 256, float16 counts)
    assert any(c.inputs["chosen_mask"].shape[0] >= 257 and int(c.inputs["chosen_mask"].bool().sum()) > 2048
               for c in cases)
    layouts = [c.layout for c in cases]
    assert {"int32", "int8", "uint8"} <= {lay.get(name) for lay in layouts for name in ("chosen_mask", "rejected_mask")}
    for c in cases:  # a float mask is in the log-probs' dtype (the statement)
        for name in ("chosen_mask", "rejected_mask"):
            assert not c.inputs[name].is_floating_point() or c.inputs[name].dtype == c.dtype, (c.name, name)


# Where code may take a shortcut for log(1 - e^m): near 0, (-12, -5) (e^m looks negligible)
# and (-750, -12) (e^m underflows in float32, then float64).
LOG1MEXP_BANDS = ((-0.01, 0.0), (-12.0, -5.0), (-750.0, -12.0))


@pytest.mark.parametrize("seed", range(6))
def test_every_band_of_log1mexp_moves_the_loss_at_every_seed(seed):
    """In each band a row has both mean log-probs inside it and a log odds ratio under 2 in size,
    so that its log(1 - e^m) moves the loss and the gradient (a pair whose other side is ruled
    out saturates the logistic, and its log odds never matter)."""
    reached = set()
    for c in make_cases(seed):
        mc, mr = (c.inputs[k].to(torch.float64) for k in ("chosen_mask", "rejected_mask"))
        m_c = (c.inputs["policy_chosen_logps"].double() * mc).sum(-1) / mc.sum(-1)
        m_r = (c.inputs["policy_rejected_logps"].double() * mr).sum(-1) / mr.sum(-1)
        close = (log_odds_t(m_c) - log_odds_t(m_r)).abs() < 2
        for band in LOG1MEXP_BANDS:
            inside = lambda m: (m > band[0]) & (m < band[1])
            if bool((inside(m_c) & inside(m_r) & close).any()):
                reached.add(band)
    assert reached == set(LOG1MEXP_BANDS)


def log_odds_t(m: torch.Tensor) -> torch.Tensor:
    return m - torch.log(-torch.expm1(m))


def _cut_at(cutoff: float):
    """orpo_loss with log(1 - e^m) taken as 0 below `cutoff` ("e^m is negligible there")."""
    def log1mexp(m):
        far = m < cutoff
        return torch.where(far, torch.zeros_like(m), torch.log(-torch.expm1(torch.where(far, -torch.ones_like(m), m))))

    def loss(pc, pr, mc, mr, lam=0.1):
        mc, mr = mc.to(pc.dtype), mr.to(pr.dtype)
        c, r = (pc * mc).sum(-1) / mc.sum(-1), (pr * mr).sum(-1) / mr.sum(-1)
        o = -F.logsigmoid((c - log1mexp(c)) - (r - log1mexp(r))).mean()
        nll = -(pc * mc).sum() / mc.sum()
        return nll + lam * o, nll, o
    return loss


def _gradients(fn, case) -> tuple[torch.Tensor, ...]:
    pc, pr = (case.inputs[k].clone().requires_grad_(True) for k in ("policy_chosen_logps", "policy_rejected_logps"))
    loss = fn(pc, pr, case.inputs["chosen_mask"], case.inputs["rejected_mask"], **case.options)[0]
    return torch.autograd.grad(loss, (pc, pr))


@pytest.mark.parametrize("cutoff, dtypes", [(-8.0, {torch.float32, torch.float64}), (-9.0, {torch.float64}),
                                            (-10.0, {torch.float64}), (-11.0, {torch.float64}),
                                            (-11.25, {torch.float64})])
def test_a_cut_off_for_log1mexp_from_minus_8_to_minus_11_shows_in_the_gradient(cutoff, dtypes):
    """The pairs with one side in the band and the other far from it (so that two cut sides do not
    cancel): a cut-off anywhere from -8 to -11.25 is off by more than the grader's tolerance in
    the gradient, in float64, and from -8 in float32 too; the reference is within it."""
    from grader.core.compare import compare

    cases = [c for c in make_cases(0) if c.name.startswith("log(1 - e^m) from -8")]
    assert {c.dtype for c in cases} == {torch.float32, torch.float64}
    shown = set()
    for case in cases:
        want = _gradients(lambda *a, **o: orpo_loss(*(x.double() if x.is_floating_point() else x for x in a), **o),
                          case)
        assert all(compare(g, w.to(g.dtype)).ok for g, w in zip(_gradients(orpo_loss, case), want))
        if not all(compare(g, w.to(g.dtype)).ok for g, w in zip(_gradients(_cut_at(cutoff), case), want)):
            shown.add(case.dtype)
    assert shown == dtypes


def mask_kinds_unmet(cases: list) -> list[str]:
    """The (mask kind, log-prob dtype) pairs the statement allows that no case of `cases` passes:
    every integer width, bool and float, each beside float32 and float64 log-probs."""
    from tests.test_reference_dpo import MASKS, passed_dtype

    met = {(passed_dtype(c, n), c.dtype) for c in cases for n in MASKS}
    kinds = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)
    want = [(k, d) for k in kinds for d in (torch.float32, torch.float64)] + [(d, d) for d in (torch.float32, torch.float64)]
    return [f"{str(k)[6:]} masks beside {str(d)[6:]} log-probs" for k, d in want if (k, d) not in met]


def padding_magnitudes_unmet(cases: list, far: float = -1e38) -> list[str]:
    """The dtypes in which no case puts `far` (the statement's end of the padding's range) where a mask is 0."""
    met = {c.dtype for c in cases for side in ("chosen", "rejected")
           if bool((c.inputs[f"policy_{side}_logps"][~c.inputs[f"{side}_mask"].bool()] == far).any())}
    return [str(d)[6:] for d in (torch.float32, torch.float64) if d not in met]


@pytest.mark.parametrize("seed", range(6))
def test_every_mask_kind_meets_both_dtypes_and_padding_reaches_minus_1e38(seed):
    cases = make_cases(seed)
    assert mask_kinds_unmet(cases) == []
    assert padding_magnitudes_unmet(cases) == []
    assert max(c.options.get("lam", 0.1) for c in cases) >= 10.0  # λ's large end


def test_masked_positions_and_mask_dtype_do_not_matter():
    pc, pr, mc, mr = _random(seed=2)
    noisy = [torch.where(m.bool(), x, torch.full_like(x, -1e4)) for x, m in ((pc, mc), (pr, mr))]
    want = orpo_loss(pc, pr, mc, mr)
    for kind in (torch.bool, torch.int64, torch.float32):
        for a, b in zip(orpo_loss(*noisy, mc.to(kind), mr.to(kind)), want):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m_c,m_r", [(-1e-6, -2.0), (-0.01, -1000.0), (-1000.0, -0.01), (-900.0, -950.0),
                                     (-1e-3, -1e-2)])
def test_log_odds_from_just_below_zero_to_minus_a_thousand(dtype, m_c, m_r):
    pc = torch.full((1, 4), m_c, dtype=dtype, requires_grad=True)
    pr = torch.full((1, 3), m_r, dtype=dtype, requires_grad=True)
    loss, nll, or_loss = orpo_loss(pc, pr, torch.ones(1, 4), torch.ones(1, 3), lam=1.0)
    delta = log_odds(float(torch.tensor(m_c, dtype=dtype))) - log_odds(float(torch.tensor(m_r, dtype=dtype)))
    want = -delta + math.log1p(math.exp(delta)) if delta < 0 else math.log1p(math.exp(-delta))
    assert or_loss.dtype == dtype
    assert float(or_loss.detach()) == pytest.approx(want, rel=1e-5, abs=1e-30)
    assert all(bool(torch.isfinite(g).all()) for g in torch.autograd.grad(loss, (pc, pr)))


def test_outputs_are_scalars_in_the_inputs_dtype():
    pc, pr, mc, mr = _random(dtype=torch.float32)
    pc.requires_grad_(True)
    loss, nll, or_loss = orpo_loss(pc, pr, mc, mr)
    assert loss.shape == nll.shape == or_loss.shape == ()
    assert loss.dtype == nll.dtype == or_loss.dtype == torch.float32 and loss.grad_fn is not None


def test_rows_combine_to_the_batch():
    case = SPEC.make_cases(0)[SPEC.row_case]
    lam = case.options.get("lam", 0.1)
    batch = orpo_loss(*case.inputs.values(), lam=lam)
    rows = [list(orpo_loss(*(x[b:b + 1] for x in case.inputs.values()), lam=lam))
            for b in range(case.inputs["chosen_mask"].shape[0])]
    for got, want in zip(combine_rows(rows, case), batch):
        torch.testing.assert_close(got, want)
    # The plain mean of the rows' NLL is not it: the rows' token counts differ.
    assert abs(float(torch.stack([r[1] for r in rows]).mean() - batch[1])) > 1e-4


# ---------------------------------------------------------------- the grader's side
def test_reference_passes_the_grader(grade_one):
    result = grade_one("orpo", solution_source("orpo"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    d = check(result, "behaviour").details
    assert curve(d, "π(y_w)", λ=1.0)[-1] > 0.5 > curve(d, "π(y_w)", λ=1.0)[0]
    assert curve(d, "π(y_l)", λ=1.0)[-1] < curve(d, "π(y_l)", λ=0.0)[-1] < curve(d, "π(y_l)", λ=0.0)[0]
    assert d["judged"]["loss_lam_0"] == pytest.approx(d["judged"]["nll_expected"], rel=1e-5)


def test_stub_is_not_started_as_generated(grade_one, generated_stubs):
    kata = registry.get("orpo")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert grade_one(kata.name, stub).status == "not_started"


def test_behaviour_tells_the_token_weighted_nll_from_the_wrong_ones():
    behaviour = ORPOBehaviour()
    assert behaviour.judge(behaviour.run(orpo_loss, 0)).status == "pass"

    def per_sequence(pc, pr, mc, mr, lam=0.1):
        loss, nll, or_loss = orpo_loss(pc, pr, mc, mr, lam=lam)
        seq = -((pc * mc).sum(-1) / mc.sum(-1)).mean()
        return loss - nll + seq, seq, or_loss

    def no_odds_term(pc, pr, mc, mr, lam=0.1):
        return orpo_loss(pc, pr, mc, mr, lam=0.0)

    result = behaviour.judge(behaviour.run(per_sequence, 0))
    assert result.status == "fail" and "token-weighted NLL alone" in result.message
    result = behaviour.judge(behaviour.run(no_odds_term, 0))
    assert result.status == "fail" and "further down than the NLL alone" in result.message


CLAMPED_LOG_ODDS = '''import torch
import torch.nn.functional as F


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_mask, rejected_mask, lam=0.1):
    pc, pr = policy_chosen_logps, policy_rejected_logps
    mc, mr = chosen_mask.to(pc.dtype), rejected_mask.to(pr.dtype)
    nll = -(pc * mc).sum() / mc.sum()
    log_odds = lambda m: m - torch.log(-torch.expm1(m.clamp(max=-5e-3)))  # wrong above -0.005
    ratio = log_odds((pc * mc).sum(-1) / mc.sum(-1)) - log_odds((pr * mr).sum(-1) / mr.sum(-1))
    odds = -F.logsigmoid(ratio).mean()
    return nll + lam * odds, nll, odds
'''


@pytest.mark.parametrize("seed", range(25))
def test_the_stated_range_end_of_minus_0_001_is_reached_at_every_seed(seed):
    """The statement promises mean log-probs from -0.001: a case reaches it exactly, and the
    logistic band's case has means above -0.005 too."""
    means = []
    for c in SPEC.make_cases(seed):
        m = c.inputs["chosen_mask"].to(torch.float64)
        means.append(float(((c.inputs["policy_chosen_logps"].double() * m).sum(-1) / m.sum(-1)).max()))
    assert max(means) == pytest.approx(-0.001, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_odds_clamped_below_the_range_end_fail(seed, grade_one):
    result = grade_one("orpo", CLAMPED_LOG_ODDS, seed=seed)
    assert result.status == "fail" and check(result, "values").status == "fail"


@pytest.mark.parametrize("seed", range(3))
def test_a_max_length_cut_in_either_term_moves_the_outputs_by_far_more_than_any_tolerance(seed):
    """The long case whose tokens grow less likely along the response: keeping only the first
    512 ... 4096 positions, in the NLL or in the odds, moves nll_loss by over 0.05 and or_loss by over 1e-3."""
    case = next(c for c in make_cases(seed) if c.name == "long responses, later tokens less likely")
    x = [case.inputs[n] for n in ("policy_chosen_logps", "policy_rejected_logps", "chosen_mask", "rejected_mask")]
    _, nll, or_loss = orpo_loss(*x, **case.options)
    for cut in (512, 1024, 2048, 4096):
        _, cut_nll, cut_or = orpo_loss(*(t[:, :cut] for t in x), **case.options)
        assert abs(float(cut_nll - nll)) > 0.05 and abs(float(cut_or - or_loss)) > 1e-3, cut
