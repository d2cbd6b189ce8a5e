"""The reference Bradley–Terry model and loss against values derived without them: hand-computed
pairs, the closed-form gradient σ(d) - label, invariance to a constant added to every reward,
P(i ≻ j) + P(j ≻ i) = 1, gaps of hundreds; the composed spec's handling of partial work; the
mistake models."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from grader import registry
from grader.core import workspace
from grader.core.compare import compare
from grader.catalog.bt.model_cases import FORWARD_MODELS
from grader.catalog.bt.spec import SPEC, BTBehaviour, model_cases
from solutions import bt as reference
from solutions.bt import BTModel, bt_loss
from grader.checks.details import curve
from tests.conftest import check, mistake_model_problems, solution_source


def nll(d: float, y: float) -> float:
    """-(y log σ(d) + (1 - y) log σ(-d)), written out: -log σ(x) = log(1 + e^-x)."""
    return y * math.log1p(math.exp(-d)) + (1 - y) * math.log1p(math.exp(d))


def test_hand_computed_pairs():
    rc = torch.tensor([2.0, -1.0], dtype=torch.float64)
    rr = torch.tensor([0.5, 1.0], dtype=torch.float64)
    assert float(bt_loss(rc, rr)) == pytest.approx((nll(1.5, 1) + nll(-2.0, 1)) / 2)
    assert float(bt_loss(rc, rr, 0.0)) == pytest.approx((nll(1.5, 0) + nll(-2.0, 0)) / 2)
    labels = torch.tensor([0.25, 1.0], dtype=torch.float64)
    assert float(bt_loss(rc, rr, labels)) == pytest.approx((nll(1.5, 0.25) + nll(-2.0, 1.0)) / 2)
    # label 0 is the same pair read the other way round
    assert float(bt_loss(rc, rr, 0.0)) == pytest.approx(float(bt_loss(rr, rc, 1.0)))


def test_soft_label_loss_is_smallest_where_the_model_agrees_with_it():
    # d = log 3 gives σ(d) = 3/4: against the label 3/4 the loss is the label's entropy and its gradient 0.
    d = torch.tensor([math.log(3.0)], dtype=torch.float64, requires_grad=True)
    loss = bt_loss(d, torch.zeros(1, dtype=torch.float64), 0.75)
    assert float(loss.detach()) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    (g,) = torch.autograd.grad(loss, d)
    assert float(g) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("label", [1.0, 0.0, 0.3, "tensor"])
def test_gradient_closed_form(label):
    g = torch.Generator().manual_seed(0)
    rc = (2 * torch.randn(6, generator=g, dtype=torch.float64)).requires_grad_(True)
    rr = (2 * torch.randn(6, generator=g, dtype=torch.float64)).requires_grad_(True)
    y = torch.rand(6, generator=g, dtype=torch.float64) if label == "tensor" else label
    gc, gr = torch.autograd.grad(bt_loss(rc, rr, y), (rc, rr))
    with torch.no_grad():
        want = -(torch.as_tensor(y, dtype=torch.float64) - torch.sigmoid(rc - rr)) / 6  # ∂L/∂r_c = -(y - σ(d))/B
    torch.testing.assert_close(gc, want)
    torch.testing.assert_close(gr, -want)


def test_adding_a_constant_to_every_reward_changes_nothing():
    g = torch.Generator().manual_seed(1)
    rc, rr = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
    y = torch.rand(5, generator=g, dtype=torch.float64)
    for c in (-7.0, 0.5, 100.0):
        torch.testing.assert_close(bt_loss(rc + c, rr + c, y), bt_loss(rc, rr, y))
    model, shifted = BTModel(4), BTModel(4)
    with torch.no_grad():
        model.reward.copy_(torch.tensor([0.3, -1.0, 2.0, 0.0]))
        shifted.reward.copy_(model.reward + 5.0)
    ids_c, ids_r = torch.tensor([0, 1, 2, 3, 2]), torch.tensor([1, 2, 3, 0, 2])
    torch.testing.assert_close(shifted(ids_c, ids_r), model(ids_c, ids_r))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gaps_of_hundreds(dtype):
    # A badly mis-ordered pair (gap -500, label 1) costs 500 with gradient -1/B on r_c; a well-ordered
    # one (gap +500) costs 0 with gradient 0; a soft label 0.3 at gap +300 costs 0.7 · 300.
    rc = torch.tensor([-500.0, 500.0, 300.0], dtype=dtype, requires_grad=True)
    rr = torch.zeros(3, dtype=dtype)
    y = torch.tensor([1.0, 1.0, 0.3], dtype=dtype)
    loss = bt_loss(rc, rr, y)
    assert loss.dtype == dtype
    assert float(loss.detach()) == pytest.approx((500.0 + 0.0 + 0.7 * 300.0) / 3, rel=1e-6)
    (g,) = torch.autograd.grad(loss, rc)
    torch.testing.assert_close(g, torch.tensor([-1.0, 0.0, 0.7], dtype=dtype) / 3)


def test_model_holds_one_parameter_per_item_and_starts_even():
    model = BTModel(5)
    assert isinstance(model.reward, torch.nn.Parameter) and model.reward.shape == (5,)
    assert [name for name, _ in model.named_parameters()] == ["reward"]
    torch.testing.assert_close(model(torch.tensor([0, 3]), torch.tensor([4, 1])), torch.full((2,), 0.5))


def test_forward_hand_computed_complement_and_gradient():
    model = BTModel(3)
    with torch.no_grad():
        model.reward.copy_(torch.tensor([0.0, math.log(3.0), -1.0]))
    c, j = torch.tensor([1, 0, 2, 1]), torch.tensor([0, 1, 2, 2])
    p = model(c, j)
    assert p.shape == (4,)
    torch.testing.assert_close(p[:3], torch.tensor([0.75, 0.25, 0.5]))  # e^r1 / (e^r1 + e^r0) = 3 / 4
    torch.testing.assert_close(p + model(j, c), torch.ones(4))
    (g,) = torch.autograd.grad(p.sum(), model.reward)
    s = p.detach() * (1 - p.detach())  # σ'(d)
    want = torch.zeros(3).index_add_(0, c, s).index_add_(0, j, -s)
    torch.testing.assert_close(g, want)


def test_forward_with_rewards_in_the_hundreds():
    model = BTModel(3)
    with torch.no_grad():
        model.reward.copy_(torch.tensor([800.0, 790.0, -600.0]))
    p = model(torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0]))
    torch.testing.assert_close(p, torch.tensor([1 / (1 + math.exp(-10.0)), 1.0, 0.0]))


# ---------------------------------------------------------------- the grader's side
def test_reference_passes_the_grader(grade_one):
    result = grade_one("bt", solution_source("bt"))
    assert result.status == "pass", [(c.name, c.message) for c in result.checks if c.decides_failure]
    assert {c.status for c in result.checks} <= {"pass", "skip"}
    assert [c.name for c in result.checks] == list(registry.get("bt").check_names)
    found = check(result, "behaviour").details
    gap = curve(found, "r0 - r3")
    assert all(b > a for a, b in zip(gap, gap[1:]))
    assert found["series"][0]["x"] == "epoch" and found["judged"]["forward_complement_worst"] < 1e-5
    assert found["judged"]["gap_r0_r3_epoch_300"] > found["judged"]["gap_r0_r3_epoch_100"]


@pytest.mark.parametrize("wrong_gradient, named", [
    ("torch.clamp(d, min=0) - d * y + torch.log1p(torch.exp(-torch.abs(d)))",
     "max(d, 0) + log1p(exp(-|d|)) by hand: wrong gradient at a tie"),
    ("-(y * F.logsigmoid(d) + (1 - y) * F.logsigmoid(-d)) * 2 - (-(y * F.logsigmoid(d) + (1 - y) * "
     "F.logsigmoid(-d))).detach()", None),  # right values, twice the gradient everywhere
    ("torch.where(d == 0, torch.log(torch.tensor(2.0, dtype=d.dtype)), -(y * F.logsigmoid(d) + (1 - y) * "
     "F.logsigmoid(-d)))", None),  # right values, no gradient at a tie
])
def test_a_gradient_mistake_is_named_by_its_gradients_not_by_its_right_values(grade_one, wrong_gradient, named):
    """Every one of these gets the values right; only the one whose gradients the model gives is
    named, the others are not one of the catalogued mistakes."""
    source = solution_source("bt").replace(
        "    losses = -(label * F.logsigmoid(margin) + (1 - label) * F.logsigmoid(-margin))  # [B]",
        f"    d, y = margin, label\n    losses = {wrong_gradient}")
    assert wrong_gradient in source
    result = grade_one("bt", source)
    values, gradients = check(result, "values"), check(result, "gradients")
    assert (values.status, gradients.status, gradients.mistake) == ("pass", "fail", named), gradients.message
    assert ("Not one of the catalogued mistakes" in gradients.message) == (named is None), gradients.message


def test_stub_is_not_started_keeps_super_init_and_is_generated(grade_one, generated_stubs):
    kata = registry.get("bt")
    stub = workspace.stub_source(kata)
    assert (generated_stubs / kata.filename).read_text() == stub  # what `kata init` writes
    assert "super().__init__()\n        # TODO: implement\n        raise NotImplementedError" in stub
    assert grade_one(kata.name, stub).status == "not_started"


def test_half_written_kata_grades_the_written_half(grade_one):
    stub, solution = workspace.stub_source(registry.get("bt")), solution_source("bt")
    cut_stub, cut_solution = stub.index("def bt_loss"), solution.index("def bt_loss")
    only_loss = grade_one("bt", stub[:cut_stub] + solution[cut_solution:])
    assert only_loss.status == "fail"
    assert check(only_loss, "values").status == "pass"
    assert check(only_loss, "reward_parameter").status == "error"
    assert check(only_loss, "forward_values").status == "skip"
    only_model = grade_one("bt", solution[:cut_solution] + stub[cut_stub:])
    assert only_model.status == "fail"
    assert check(only_model, "forward_values").status == "pass"
    assert check(only_model, "signature").status == "error"
    assert "bt_loss still raises NotImplementedError" in check(only_model, "signature").message


def test_behaviour_shows_the_growing_gap_and_fails_a_loss_that_stops_it():
    behaviour = BTBehaviour()
    result = behaviour.judge(behaviour.run(reference, 0))
    assert result.status == "pass" and "r0 > r1" not in result.message

    class Clamped:  # clamping at ε = 0.05 zeroes the gradient once σ(d) > 0.95: each pair's gap stops at log 19
        BTModel = BTModel

        @staticmethod
        def bt_loss(rc, rr, label=1.0):
            p = torch.sigmoid(rc - rr).clamp(0.05, 0.95)
            return -(label * torch.log(p) + (1 - label) * torch.log(1 - p)).mean()

    result = behaviour.judge(behaviour.run(Clamped, 0))
    assert result.status == "fail" and "keep growing" in result.message


def test_every_loss_mistake_model_shows_at_its_check_on_every_seed():
    mistakes = [m for m in registry.get("bt").mistakes if m.name in SPEC.loss.models]
    assert len(mistakes) == 4
    assert mistake_model_problems(SPEC.loss, bt_loss, mistakes, range(25)) == []


def test_every_forward_mistake_model_shows_on_every_seed():
    names = [m.name for m in registry.get("bt").mistakes if m.check == "forward_values" and m.name in FORWARD_MODELS]
    assert names == list(FORWARD_MODELS)
    for seed in range(25):
        cases = model_cases(seed)
        for k, name in enumerate(names):
            outs = [FORWARD_MODELS[name](c.inputs["chosen_ids"], c.inputs["rejected_ids"], c.inputs["reward"])["p"]
                    for c in cases]
            right = [torch.sigmoid(c.inputs["reward"][c.inputs["chosen_ids"]] - c.inputs["reward"][c.inputs["rejected_ids"]])
                     for c in cases]
            assert not all(compare(o, r).ok for o, r in zip(outs, right)), (seed, name)
            for other in names[:k]:
                theirs = [FORWARD_MODELS[other](c.inputs["chosen_ids"], c.inputs["rejected_ids"], c.inputs["reward"])["p"]
                          for c in cases]
                assert not all(compare(o, t).ok for o, t in zip(outs, theirs)), (seed, name, other)


def test_bce_with_logits_is_the_same_loss():
    g = torch.Generator().manual_seed(2)
    rc, rr = 50 * torch.randn(7, generator=g), 50 * torch.randn(7, generator=g)
    y = torch.rand(7, generator=g)
    torch.testing.assert_close(bt_loss(rc, rr, y), F.binary_cross_entropy_with_logits(rc - rr, y))


def test_forward_is_held_near_zero_and_one_tightly_enough_for_a_clamp_but_not_for_float32_rounding():
    """Every way of writing σ(r_c - r_r) in the model's dtype is within BT_PROBABILITY_ATOL on every
    model case (1 - σ(-d) and (1 + tanh(d/2)) / 2 lose float32's relative precision near 0, not its
    absolute); a forward clamped into [1e-6, 1 - 1e-6], or from above only to 1 - 1e-5 (which
    float32's rtol of 1e-4 would let through near 1), is caught on every seed."""
    from grader.catalog.bt.model import _probability_problem

    forms = {
        "sigmoid": torch.sigmoid,
        "1 - σ(-d)": lambda d: 1 - torch.sigmoid(-d),
        "tanh": lambda d: (1 + torch.tanh(d / 2)) / 2,
        "softmax": lambda d: torch.softmax(torch.stack([d, torch.zeros_like(d)], -1), -1)[..., 0],
        "exp(logsigmoid)": lambda d: torch.exp(F.logsigmoid(d)),
    }
    for seed in range(25):
        caught = caught_above = False
        for case in model_cases(seed):
            r, c, j = case.inputs["reward"], case.inputs["chosen_ids"], case.inputs["rejected_ids"]
            want = torch.sigmoid(r.double()[c] - r.double()[j])
            for name, form in forms.items():
                assert _probability_problem(form(r[c] - r[j]), want) == "", (seed, case.name, name)
            caught |= bool(_probability_problem(torch.sigmoid(r[c] - r[j]).clamp(1e-6, 1 - 1e-6), want))
            caught_above |= bool(_probability_problem(torch.sigmoid(r[c] - r[j]).clamp(max=1 - 1e-5), want))
        assert caught and caught_above, seed


def test_model_cases_include_float64_and_257_pairs_and_a_step_that_moves_the_probabilities():
    for seed in range(3):
        cases = model_cases(seed)
        assert {c.inputs["reward"].dtype for c in cases} == {torch.float32, torch.float64}
        assert {33, 257} <= {c.inputs["chosen_ids"].shape[0] for c in cases}  # past micro-batches of 32 and 256
        for case in cases:
            r, c, j, step = case.inputs["reward"], case.inputs["chosen_ids"], case.inputs["rejected_ids"], \
                case.options["step"]
            moved = torch.sigmoid((r + step)[c] - (r + step)[j]) - torch.sigmoid(r[c] - r[j])
            if not case.extreme and bool((c != j).any()):  # an item against itself stays at 0.5
                assert float(moved.abs().max()) > 0.05, (seed, case.name)  # a stale forward shows


def test_behaviour_judges_the_pairs_it_asked_for_not_the_ids_forward_leaves():
    """A forward that scrambles its id tensors in place (forward_values fails it) still gets its
    behaviour judged, on the grader's own pairs."""
    class Scrambling(BTModel):
        def forward(self, chosen_ids, rejected_ids):
            p = super().forward(chosen_ids, rejected_ids)
            chosen_ids.zero_()
            return p

    class Module:
        BTModel, bt_loss = Scrambling, staticmethod(bt_loss)

    behaviour = BTBehaviour()
    data = behaviour.run(Module, 0)
    assert set(data) == {"rewards", "p"}  # no ids from the child
    assert behaviour.judge(data).status == "pass"
    data["p"] = data["p"][:-1]
    assert "returned 11 probabilities" in behaviour.judge(data).message


def test_a_forged_behaviour_report_is_malformed():
    cases = SPEC.make_cases(0)
    report = {"loss": {"fatal": {"kind": "not_started", "message": ""}}, "model": {"not_started": {}},
              "behaviour": {"data": {"rewards": [[0.0] * 4], "i": [0], "j": [1]}}}
    assert "behaviour" in SPEC.malformed(cases, report)


def test_float_labels_meet_at_one_batch_size_and_dtype_and_a_batch_passes_256_pairs():
    """A label filled once per (shape, dtype) and kept shows only where two float labels share both."""
    for seed in range(3):
        cases = [c for c in SPEC.make_cases(seed) if "reward_chosen" in c.inputs]
        seen: dict[tuple, set] = {}
        for c in cases:
            if not isinstance(c.options.get("label", 1.0), torch.Tensor):
                key = (c.inputs["reward_chosen"].shape, c.inputs["reward_chosen"].dtype)
                seen.setdefault(key, set()).add(c.options.get("label", 1.0))
        assert any(len(labels) > 1 for labels in seen.values()), seed
        assert max(c.inputs["reward_chosen"].shape[0] for c in cases) > 256


@pytest.mark.parametrize("edit, check_name, says", [
    (("        self.reward = nn.Parameter(torch.zeros(n_items))",
      "        self.reward = nn.Parameter(torch.zeros(n_items))\n        self.scale = nn.Parameter(torch.ones(()))"),
     "reward_parameter", "lists reward [4], scale []"),
    (("torch.zeros(n_items))", "torch.zeros(n_items, dtype=torch.float64))"), "reward_parameter", "is float64 in a new model"),
    (("def __init__(self, n_items: int) -> None:", "def __init__(self, n_items: int, /) -> None:"),
     "reward_parameter", "positional-only"),
    (("def forward(self, chosen_ids: Tensor, rejected_ids: Tensor) -> Tensor:",
      "def forward(self, chosen_ids: Tensor, *ids: Tensor) -> Tensor:\n        rejected_ids = ids[0]"),
     "forward_values", "parameter 2 should be 'rejected_ids'"),
    (("        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])",
      "        if self.training:\n            return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])\n"
      "        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids]).clamp(1e-6, 1 - 1e-6)"),
     "forward_values", "after model.eval()"),
    (("        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])",
      "        p = torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])\n"
      "        rejected_ids.add_(0 if torch.is_grad_enabled() else 1)\n        return p"),
     "forward_values", "forward modified 'rejected_ids' in place"),
    (("        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])",
      "        with torch.no_grad():\n            self.reward.sub_(self.reward.mean())\n"
      "        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])"),
     "forward_values", "changed the model's `reward`"),
    (("        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])",
      "        if not self.training:\n            if getattr(self, 'table', None) is None:\n"
      "                r = self.reward.detach()\n                self.table = torch.sigmoid(r[:, None] - r[None, :])\n"
      "            return self.table[chosen_ids, rejected_ids]\n"
      "        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])"),
     "forward_values", "after model.eval(), after the rewards changed in place"),
    (("    def forward(self, chosen_ids: Tensor, rejected_ids: Tensor) -> Tensor:",
      "    def train(self, mode=True):\n        super().train(mode)\n        if not mode:\n"
      "            self.reward.requires_grad_(False)\n        return self\n\n"
      "    def forward(self, chosen_ids: Tensor, rejected_ids: Tensor) -> Tensor:"),
     "reward_gradient", "reward.requires_grad is False"),
    (("        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids])",
      "        return torch.sigmoid(self.reward[chosen_ids] - self.reward[rejected_ids]).clamp(max=1 - 1e-5)"),
     "forward_values", "near 0 or 1"),
])
def test_the_model_contract_beyond_values_fails_at_its_check(grade_one, edit, check_name, says):
    """The class's parameter names, its one float32 parameter, forward under no_grad and eval()
    (before and after a step), ids and reward left unchanged, no clamp near 1, the parameter still
    trainable after eval() and train(): each broken alone fails its check, saying what."""
    old, new = edit
    source = solution_source("bt")
    assert old in source
    result = grade_one("bt", source.replace(old, new, 1))
    found = check(result, check_name)
    assert (result.status, found.status) == ("fail", "fail"), found.message
    assert says in found.message, found.message
