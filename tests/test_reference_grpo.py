"""The reference GRPO loss against values derived without it: a hand-computed batch under each
loss_type, the closed-form gradient, the on-policy zero-loss identity, length weighting, GSPO's
ratio, the cases' promises; and the behaviour check, which passes the reference and fails
wrong implementations."""
from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from grader.catalog.grpo import behaviour as beh
from grader.catalog.grpo.spec import SPEC, bad_inputs
from grader.catalog.grpo.cases import make_cases
from grader.checks.cases import laid_out
from solutions.grpo import grpo_loss
from tests.conftest import MISTAKES

F64 = torch.float64


def _hand(dtype=F64):
    """B=2, T=2; ratios 1.1 and 1.5 (A = +1), 0.7 and a padding token (A = -1).

    Per token, ε = 0.2: 1.1·1 is inside -> -1.1; 1.5 clips to 1.2 -> -1.2; with A = -1,
    min(-0.7, -0.8) = -0.8 -> +0.8 (clipped). Padding never counts.
    """
    logps = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], dtype=dtype)
    ratios = torch.tensor([[1.1, 1.5], [0.7, 1.0]], dtype=F64)
    old = (logps.double() - ratios.log()).to(dtype)
    d = torch.tensor([[0.5, -0.2], [1.0, 0.3]], dtype=F64)
    ref = (logps.double() + d).to(dtype)
    return logps, old, ref, torch.tensor([1.0, -1.0], dtype=dtype), torch.tensor([[1, 1], [1, 0]])


K3 = [math.exp(0.5) - 1.5, math.exp(-0.2) - 0.8, math.exp(1.0) - 2.0]  # the three response tokens


@pytest.mark.parametrize("loss_type, expected", [
    ("grpo", ((-1.1 - 1.2) / 2 + 0.8 / 1) / 2),
    ("bnpo", (-1.1 - 1.2 + 0.8) / 3),
    ("dr_grpo", (-1.1 - 1.2 + 0.8) / (2 * 2)),
])
def test_hand_computed_without_kl(loss_type, expected):
    logps, old, _, adv, mask = _hand()
    loss, mean_kl, clip_fraction = grpo_loss(logps, old, None, adv, mask, beta=0.0, loss_type=loss_type)
    assert float(loss) == pytest.approx(expected, abs=1e-12)
    assert float(mean_kl) == 0.0 and mean_kl.shape == () and mean_kl.dtype == F64
    assert float(clip_fraction) == pytest.approx(2 / 3)  # 1.5 with A > 0, 0.7 with A < 0


def test_hand_computed_with_kl_and_max_completion_length():
    logps, old, ref, adv, mask = _hand()
    beta = 0.04
    row0 = (-1.1 + beta * K3[0] - 1.2 + beta * K3[1]) / 2
    row1 = 0.8 + beta * K3[2]
    loss, mean_kl, _ = grpo_loss(logps, old, ref, adv, mask)  # the defaults: β = 0.04, "grpo"
    assert float(loss) == pytest.approx((row0 + row1) / 2, abs=1e-12)
    assert float(mean_kl) == pytest.approx(sum(K3) / 3, abs=1e-12)
    dr, _, _ = grpo_loss(logps, old, ref, adv, mask, loss_type="dr_grpo", max_completion_length=5)
    assert float(dr) == pytest.approx((2 * row0 + row1) / (2 * 5), abs=1e-12)


def test_asymmetric_clip_and_hand_gradient():
    logps, old, _, adv, mask = _hand()
    logps.requires_grad_(True)
    # ε_high = 0.6: 1.5 is now inside, so that token gets its gradient back.
    loss, _, clip_fraction = grpo_loss(logps, old, None, adv, mask, beta=0.0, epsilon_high=0.6)
    assert float(loss.detach()) == pytest.approx(((-1.1 - 1.5) / 2 + 0.8) / 2, abs=1e-12)
    assert float(clip_fraction) == pytest.approx(1 / 3)
    (grad,) = torch.autograd.grad(loss, logps)
    # d/dlogps of -ρ·A / (B·n): -1.1/4 and -1.5/4 in row 0; the clipped token and padding get 0.
    assert grad.flatten().tolist() == pytest.approx([-1.1 / 4, -1.5 / 4, 0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo"])
def test_closed_form_gradient(loss_type):
    g = torch.Generator().manual_seed(0)
    B, T, beta, el, eh = 5, 7, 0.3, 0.2, 0.28
    logps = -3 * torch.rand(B, T, generator=g, dtype=F64)
    old = logps - 0.4 * torch.randn(B, T, generator=g, dtype=F64)
    ref = logps + torch.randn(B, T, generator=g, dtype=F64)
    adv = torch.randn(B, generator=g, dtype=F64)
    mask = torch.arange(T) < torch.tensor([7, 3, 0, 5, 1]).unsqueeze(1)
    leaf = logps.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(grpo_loss(leaf, old, ref, adv, mask, beta=beta, epsilon_low=el,
                                            epsilon_high=eh, loss_type=loss_type)[0], leaf)
    rho, A, d = (logps - old).exp(), adv[:, None], ref - logps
    clipped = ((rho > 1 + eh) & (A > 0)) | ((rho < 1 - el) & (A < 0))
    per_token = torch.where(clipped, 0.0, -rho * A) + beta * (1 - d.exp())  # d/dlogps of the per-token loss
    m = mask.double()
    norm = {"grpo": B * m.sum(-1, keepdim=True).clamp(min=1), "bnpo": m.sum(), "dr_grpo": torch.tensor(B * T)}
    assert torch.allclose(grad, per_token * m / norm[loss_type], atol=1e-12, rtol=0)


def test_on_policy_zero_loss_still_learns():
    """TRL issues #2703 and #3452: on-policy with β = 0 the loss is -mean(A) = 0, the gradient is not."""
    g = torch.Generator().manual_seed(1)
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.25])
    adv = beh.group_advantages(rewards, 4)
    lengths = torch.tensor([6, 3, 2, 5, 1, 6, 4, 2])
    mask = torch.arange(6) < lengths.unsqueeze(1)
    logps = (-3 * torch.rand(8, 6, generator=g)).requires_grad_(True)
    loss, _, clip_fraction = grpo_loss(logps, logps.detach(), None, adv, mask, beta=0.0)
    assert abs(float(loss.detach())) < 1e-6 and float(clip_fraction) == 0.0
    (grad,) = torch.autograd.grad(loss, logps)
    want = (-adv / (8 * lengths))[:, None] * mask
    assert torch.allclose(grad, want, rtol=1e-5, atol=0)
    assert float(grad.abs().sum()) > 0.5


@pytest.mark.parametrize("loss_type, ratio", [("grpo", 4.0), ("bnpo", 1.0), ("dr_grpo", 1.0)])
def test_length_weighting(loss_type, ratio):
    logps = (-torch.rand(2, 8, dtype=F64)).requires_grad_(True)
    mask = torch.arange(8) < torch.tensor([2, 8]).unsqueeze(1)
    loss, _, _ = grpo_loss(logps, logps.detach(), None, torch.ones(2, dtype=F64), mask, beta=0.0, loss_type=loss_type)
    (grad,) = torch.autograd.grad(loss, logps)
    assert float(grad[0, 0] / grad[1, 0]) == pytest.approx(ratio)
    assert float(grad[0, 1]) == float(grad[0, 0]) and float(grad[1, 7]) == float(grad[1, 0])


def test_sequence_equals_token_when_every_row_has_one_token():
    g = torch.Generator().manual_seed(2)
    logps = -3 * torch.rand(6, 4, generator=g, dtype=F64)
    old = logps - 0.5 * torch.randn(6, 4, generator=g, dtype=F64)
    ref = logps + torch.randn(6, 4, generator=g, dtype=F64)
    adv = torch.randn(6, generator=g, dtype=F64)
    mask = torch.arange(4) < torch.ones(6, 1)  # one response token per row
    for loss_type in ("grpo", "bnpo", "dr_grpo"):
        token = grpo_loss(logps, old, ref, adv, mask, loss_type=loss_type)
        seq = grpo_loss(logps, old, ref, adv, mask, loss_type=loss_type, importance_sampling_level="sequence")
        for a, b in zip(token, seq):
            assert float(a) == pytest.approx(float(b), abs=1e-14)


def test_sequence_clips_a_completion_as_a_whole_and_an_empty_row_has_ratio_one():
    logps = torch.zeros(3, 3, dtype=F64, requires_grad=True)
    # Row 0: token log-ratios 1.0, -0.4, 0.06 -> mean 0.22, ratio 1.246 > 1.2 with A > 0: clipped whole.
    old = -torch.tensor([[1.0, -0.4, 0.06], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], dtype=F64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    loss, _, clip_fraction = grpo_loss(logps, old, None, torch.tensor([1.0, -1.0, 2.0], dtype=F64), mask, beta=0.0,
                                       importance_sampling_level="sequence")
    (grad,) = torch.autograd.grad(loss, logps)
    assert grad[0].tolist() == [0.0, 0.0, 0.0]
    # Row 1: ratio 1 with A = -1, inside: its mean per-token loss is ρ, and dρ/dlogps_t = ρ/2 for each of
    # its 2 tokens; over B = 3 rows that is 1/6.
    assert grad[1].tolist() == pytest.approx([1 / 6, 1 / 6, 0.0])
    assert grad[2].tolist() == [0.0, 0.0, 0.0]
    assert float(loss.detach()) == pytest.approx((-1.2 + 1.0 + 0.0) / 3)
    assert float(clip_fraction) == pytest.approx(3 / 5)


def test_padding_values_change_nothing():
    logps, old, ref, adv, mask = _hand()
    moved = [x.clone() for x in (logps, old, ref)]
    for x, value in zip(moved, (-40.0, -3.0, -10.0)):  # log-ratio -37, KL's d +30 at the padding token
        x[1, 1] = value
    for level in ("token", "sequence"):
        a = grpo_loss(logps, old, ref, adv, mask, importance_sampling_level=level)
        b = grpo_loss(*moved, adv, mask, importance_sampling_level=level)
        assert [float(x) for x in a] == [float(x) for x in b]


def test_epsilon_high_keeps_its_default_when_epsilon_low_alone_is_set():
    logps, old, _, adv, mask = _hand()
    # ε_low = 0.1 alone: the band is [0.9, 1.2], so 1.5 still clips at 1.2 (not 1.1) and 0.7 at 0.9.
    loss, _, _ = grpo_loss(logps, old, None, adv, mask, beta=0.0, epsilon_low=0.1)
    assert float(loss) == pytest.approx(((-1.1 - 1.2) / 2 + 0.9) / 2, abs=1e-12)


def test_large_log_ratios_are_used_as_they_come():
    # |log-ratio| 30 (in range): no clamp at ±20 and no dual clip at 3·|A| when A < 0.
    logps = torch.tensor([[-50.0], [-50.0]], dtype=torch.float32)
    old = logps - torch.tensor([[30.0], [-30.0]])
    adv = torch.tensor([-1.0, 1.0])
    loss, _, clip_fraction = grpo_loss(logps, old, None, adv, torch.ones(2, 1), beta=0.0)
    assert float(loss) == pytest.approx(math.exp(30) / 2, rel=1e-5)  # row 1: -min(ρ, 0.8) = -e^-30, about 0
    assert float(clip_fraction) == 0.0


@pytest.mark.parametrize("level", ["token", "sequence"])
def test_a_gap_in_the_mask_counts_as_the_same_tokens_packed_to_the_left(level):
    g = torch.Generator().manual_seed(3)
    logps = -3 * torch.rand(2, 6, generator=g, dtype=F64)
    old = logps - 0.4 * torch.randn(2, 6, generator=g, dtype=F64)
    ref = logps + torch.randn(2, 6, generator=g, dtype=F64)
    adv = torch.tensor([0.7, -1.3], dtype=F64)
    gaps = torch.tensor([[0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 1]])
    order = torch.tensor([[1, 2, 4, 0, 3, 5], [0, 1, 3, 4, 5, 2]])  # each row's tokens first
    packed = [x.gather(1, order) for x in (logps, old, ref)]
    right_padded = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
    for loss_type in ("grpo", "bnpo", "dr_grpo"):
        options = {"loss_type": loss_type, "importance_sampling_level": level}
        a = grpo_loss(logps, old, ref, adv, gaps, **options)
        b = grpo_loss(*packed, adv, right_padded, **options)
        assert [float(x) for x in a] == pytest.approx([float(x) for x in b], abs=1e-14)


@pytest.mark.parametrize("case", bad_inputs(0), ids=lambda c: c.name)
def test_bad_inputs_raise_value_error_with_a_message(case):
    with pytest.raises(ValueError, match=r"\w{4,}"):
        SPEC.call(grpo_loss, case)


def test_outputs_are_detached_and_in_the_inputs_dtype():
    logps, old, ref, adv, mask = _hand(torch.float32)
    loss, mean_kl, clip_fraction = grpo_loss(logps.requires_grad_(True), old, ref, adv, mask)
    assert loss.requires_grad and not mean_kl.requires_grad and not clip_fraction.requires_grad
    assert {t.dtype for t in (loss, mean_kl, clip_fraction)} == {torch.float32}


# ---------------------------------------------------------------- the cases keep their promises
def _has_gap(mask: torch.Tensor) -> bool:
    """A 0 between two 1s in some row: a gap inside a completion."""
    m = mask.to(torch.int64)
    return bool(((m == 0) & (m.cumsum(1) > 0) & (m.flip(1).cumsum(1).flip(1) > 0)).any())


@pytest.mark.parametrize("seed", [0, 7, 19])
def test_cases_cover_the_contract_at_every_seed(seed):
    cases = make_cases(seed)
    names = [c.name for c in cases]
    assert {"B=1, T=1", "T=1", "an empty row", "B == T", "non-contiguous inputs",
            "beta=0 without a reference model", "epsilon_high > epsilon_low"} <= set(names)
    combos = {(c.options.get("loss_type", "grpo"), c.options.get("importance_sampling_level", "token"))
              for c in cases if not c.extreme}
    assert combos >= {(lt, lv) for lt in ("grpo", "bnpo", "dr_grpo") for lv in ("token", "sequence")}
    assert {c.dtype for c in cases} == {torch.float32, torch.float64}
    assert {c.inputs["mask"].dtype for c in cases} >= {torch.float32, torch.int64, torch.bool}
    by_name = dict(zip(names, cases))
    b_eq_t = by_name["B == T"].inputs["logps"].shape
    assert b_eq_t[0] == b_eq_t[1] and len(set(by_name["B == T"].inputs["advantages"].tolist())) == b_eq_t[0]
    assert by_name["non-contiguous inputs"].layout["logps"] == "transposed"
    assert "ref_logps" not in by_name["beta=0 without a reference model"].inputs
    with_ref = by_name["beta=0 with a reference model"]  # mean_kl is reported whatever beta is
    assert with_ref.options["beta"] == 0.0 and "ref_logps" in with_ref.inputs
    at_t = by_name["dr_grpo, max_completion_length == T"]  # allowed: only below T is refused
    assert at_t.options["max_completion_length"] == at_t.inputs["logps"].shape[1]
    assert any(c.options.get("max_completion_length", 0) > c.inputs["logps"].shape[1] for c in cases)
    short = by_name["dr_grpo, an empty row, no row reaches T"]  # B·T: not the longest completion, not the
    assert short.options == {"loss_type": "dr_grpo"}                # non-empty rows, is the default normaliser
    assert int(short.inputs["mask"].sum(-1).max()) < short.inputs["logps"].shape[1]
    emptied = {c.options.get("loss_type", "grpo") for c in cases[:len(names) - 2]
               if not c.inputs["mask"].bool().any(-1).all()}
    assert emptied == {"grpo", "bnpo", "dr_grpo"}  # an empty row meets every normaliser at every seed
    # every loss_type under each level meets asymmetric epsilons, beta off its default, and no reference
    # with epsilon_low set alone (epsilon_high left at its default)
    for lt in ("grpo", "bnpo", "dr_grpo"):
        for lv in ("token", "sequence"):
            here = [c.options for c in cases if (c.options.get("loss_type", "grpo"),
                                                 c.options.get("importance_sampling_level", "token")) == (lt, lv)]
            assert any(o.get("epsilon_high", 0.2) != o.get("epsilon_low", 0.2) and o.get("beta", 0.04) not in (0.04, 0)
                       for o in here), (lt, lv)
            assert any("epsilon_low" in o and "epsilon_high" not in o and o.get("beta") == 0 for o in here), (lt, lv)
            # the edges under every mode: no response token, an empty row, a group with A = 0,
            # epsilon_high below epsilon_low, beta = 0 with a reference
            mine = [c for c in cases if (c.options.get("loss_type", "grpo"),
                                         c.options.get("importance_sampling_level", "token")) == (lt, lv)]
            assert any(not c.inputs["mask"].bool().any() for c in mine), (lt, lv)
            edge = [c for c in mine if c.options.get("epsilon_high", 0.2) < c.options.get("epsilon_low", 0.2)
                    and c.options.get("beta") == 0 and "ref_logps" in c.inputs]
            assert any((c.inputs["advantages"] == 0).any() and not c.inputs["mask"].bool().any(-1).all()
                       for c in edge), (lt, lv)
    # non-contiguous inputs under both levels; integer masks of every width
    assert {c.options.get("importance_sampling_level", "token") for c in cases
            if c.layout.get("logps") == "transposed"} == {"token", "sequence"}
    assert {c.layout.get("mask") for c in cases[:len(names) - 2]} >= {"int32", "int16", "int8", "uint8"}
    widths = {(str(laid_out(c, "mask", c.inputs["mask"]).dtype), c.dtype) for c in cases[:len(names) - 2]
              if c.inputs["mask"].sum() > 0}  # each width with float32 and float64 inputs, on a batch with tokens
    assert widths >= {(f"torch.{w}", d) for w in ("int64", "int32", "int16", "int8", "uint8", "bool")
                      for d in (torch.float32, torch.float64)}
    # past 1024 positions (chunks of 512 or 1024), and [B] advantages passed strided
    assert max(c.inputs["logps"].shape[1] for c in cases) > 1024
    assert any(c.layout.get("advantages") for c in cases)
    # past micro-batches of 256 rows under every loss_type, and float16's exact counts: bnpo's token
    # count, dr_grpo's B·L
    big = {c.options.get("loss_type", "grpo"): c for c in cases[:len(names) - 2] if c.inputs["logps"].shape[0] > 256}
    assert set(big) == {"grpo", "bnpo", "dr_grpo"}
    assert big["bnpo"].inputs["mask"].bool().sum() > 2048
    assert big["dr_grpo"].options["max_completion_length"] * 257 > 2048
    # the ends of the epsilons' ranges
    assert any(c.options.get("epsilon_low") == 0.99 and c.options.get("epsilon_high", 0.2) >= 2 for c in cases)
    # log-ratios down to -20 in cases judged by their values (the wide cases' losses of 1e16 hide a floor)
    assert min(float((c.inputs["logps"] - c.inputs["old_logps"]).min()) for c in cases if not c.extreme) <= -19
    # past chunk sizes, a gap inside a completion, log-ratios out to the stated ±40
    assert max(c.inputs["logps"].shape[0] for c in cases) >= 33
    assert {c.options.get("importance_sampling_level", "token") for c in cases
            if c.inputs["logps"].shape[1] > 256} == {"token", "sequence"}
    gapped = {c.options.get("importance_sampling_level", "token") for c in cases if _has_gap(c.inputs["mask"])}
    assert gapped == {"token", "sequence"}
    wide = [(c.inputs["logps"] - c.inputs["old_logps"]).double().abs().max() for c in cases]
    assert max(wide) == 40.0
    for c in cases:  # every ratio at least 1e-6 from a clip bound
        x = c.inputs
        m = x["mask"].bool()
        lr = (x["logps"] - x["old_logps"]).double()
        if c.options.get("importance_sampling_level") == "sequence":
            lr = ((lr * m).sum(-1) / m.sum(-1).clamp(min=1)).unsqueeze(1).expand_as(m)
        rho = lr.exp()[m]
        if not rho.numel():  # no response token: nothing to clip
            continue
        for bound in (1 - c.options.get("epsilon_low", 0.2), 1 + c.options.get("epsilon_high", 0.2)):
            assert float((rho - bound).abs().min()) >= 1e-6, (c.name, bound)


# ---------------------------------------------------------------- behaviour
def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.grpo_loss


@pytest.fixture(scope="module")
def reference_behaviour():
    return beh.GRPOBehaviour().judge(beh.GRPOBehaviour().run(grpo_loss, 0))


def test_behaviour_passes_the_reference_with_its_numbers(reference_behaviour):
    r = reference_behaviour
    assert r.status == "pass", r.message
    j = r.details["judged"]
    assert abs(j["onpolicy_loss"]) < 1e-6 and j["onpolicy_grad_worst_rel_error"] < 1e-4
    assert j["length_ratio_grpo"] == pytest.approx(4.0) and j["length_ratio_dr_grpo"] == pytest.approx(1.0)
    assert j["kl_end_beta_0.0"] > j["kl_end_beta_0.04"] > j["kl_end_beta_0.4"]
    assert j["reward_end_beta_0.0"] > j["reward_start_beta_0.0"] + 0.3
    assert [(s["name"], s["param"]) for s in r.details["series"]][:2] == [("mean reward", {"β": 0.0}),
                                                                          ("KL(π‖π_ref)", {"β": 0.0})]
    assert "loss" in r.message and "4" in r.message


@pytest.mark.parametrize("mistake, says", [
    ("ratio_inverted", "-A_i/(B·|o_i|)"),
    ("dr_grpo_real_lengths", "under \"dr_grpo\" a token of the 8-token completion should get the gradient -0.0625"),
    ("grpo_padded_length", "under \"grpo\" a token of the 2-token completion should get 4× the gradient"),
    ("epsilon_high_ignored", "token with ratio 1.25 and A = +1"),
    ("sequence_ratio_padding", None),
    ("min_max_swapped", "is clipped: it should get no gradient"),
])
def test_behaviour_fails_wrong_implementations(mistake, says):
    fn = _load(MISTAKES / "grpo" / f"{mistake}.py")
    b = beh.GRPOBehaviour()
    if mistake == "sequence_ratio_padding":  # every behaviour row is full: the mistake cannot show there
        assert b.judge(b.run(fn, 0)).status == "pass"
        return
    r = b.judge(b.run(fn, 0))
    assert r.status == "fail" and says in r.message, r.message


def test_behaviour_curves_are_drawn_from_the_details_schema(reference_behaviour):
    from grader.checks.details import curves_of, label

    curves = {label(s): s["values"] for s in curves_of(reference_behaviour.details)}
    assert list(curves) == [f"{name} β={b:g}" for b in (0.0, 0.04, 0.4) for name in ("mean reward", "KL(π‖π_ref)")]
    assert all(len(v) == 40 for v in curves.values())  # 50 steps sampled to 40 points
    assert curves_of({"series": [{"name": "x", "param": {}, "values": "not a curve"}], "judged": {}}) == []
