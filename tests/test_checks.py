"""Each generic check fails on the submission it exists for, with its message."""
from __future__ import annotations

from tests.conftest import check, solution_source

DPO = solution_source("dpo")


def dpo_with(old: str, new: str) -> str:
    assert old in DPO, old
    return DPO.replace(old, new)


def test_in_place_change_of_an_input_fails_inputs_unchanged_only(grade_one):
    src = dpo_with("    chosen_mask = chosen_mask.to(", "    ref_chosen_logps.mul_(chosen_mask)\n    chosen_mask = chosen_mask.to(")
    r = grade_one("dpo", src)
    c = check(r, "inputs_unchanged")
    assert c.status == "fail"
    assert "'ref_chosen_logps' was modified in place by the call" in c.message
    assert [x.name for x in r.failed_checks] == ["inputs_unchanged"]


def test_rows_that_see_each_other_fail_row_independence(grade_one):
    src = dpo_with("    h = chosen_logratio - rejected_logratio  # [B]",
                   "    h = chosen_logratio - rejected_logratio\n    h = h - h.mean()  # centred across the batch")
    r = grade_one("dpo", src)
    c = check(r, "row_independence")
    assert c.status == "fail"
    assert "graded as a batch vs one row at a time" in c.message
    assert "Rows influence each other" in c.message


def test_loss_rebuilt_from_item_fails_keeps_graph(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = torch.tensor(-F.logsigmoid(beta * h).mean().item(), dtype=h.dtype, requires_grad=True)")
    r = grade_one("dpo", src)
    c = check(r, "keeps_graph")
    assert c.status == "fail"
    assert "grad_fn is None" in c.message and ".item()" in c.message
    assert check(r, "gradients").status == "fail"


def test_wrong_custom_backward_fails_gradcheck(grade_one):
    src = """
import torch


class NegLogSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.nn.functional.softplus(-x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * torch.sigmoid(x)  # should be sigmoid(-x)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    mc = chosen_mask.to(policy_chosen_logps.dtype)
    mr = rejected_mask.to(policy_rejected_logps.dtype)
    chosen = ((policy_chosen_logps - ref_chosen_logps) * mc).sum(-1)
    rejected = ((policy_rejected_logps - ref_rejected_logps) * mr).sum(-1)
    loss = NegLogSigmoid.apply(beta * (chosen - rejected)).mean()
    return loss, (beta * chosen).detach(), (beta * rejected).detach()
"""
    r = grade_one("dpo", src)
    c = check(r, "gradcheck")
    assert c.status == "fail"
    assert c.message.startswith("the custom backward disagrees with finite differences on case")
    assert check(r, "values").status == "pass"
    assert check(r, "gradients").status == "fail"


def test_fixed_device_tensor_is_advice_not_a_verdict(grade_one):
    src = dpo_with("    h = chosen_logratio - rejected_logratio  # [B]",
                   "    h = chosen_logratio - rejected_logratio + torch.zeros(chosen_logratio.shape[0])")
    r = grade_one("dpo", src)
    c = check(r, "device_hygiene")
    assert (c.status, c.advisory) == ("fail", True)
    assert "a tensor is created on a fixed device" in c.message
    assert r.status == "pass"


def test_item_call_makes_device_hygiene_not_applicable(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean()\n    assert float(loss.detach().sum().item()) == float(loss.detach().sum().item())")
    r = grade_one("dpo", src)
    c = check(r, "device_hygiene")
    assert (c.status, c.advisory) == ("skip", True)
    assert c.message.startswith("not applicable: the code cannot run on 'meta' tensors")
    assert r.status == "pass"


def test_wrong_signature_fails_signature(grade_one):
    src = dpo_with("    beta: float = 0.1,", "    beta: float = 0.5,")
    r = grade_one("dpo", src)
    c = check(r, "signature")
    assert c.status == "fail"
    assert "'beta' defaults to 0.5, the contract says 0.1" in c.message


def test_wrong_output_dtype_fails_output_types(grade_one):
    src = dpo_with("    return loss, chosen_rewards, rejected_rewards", "    return loss.float(), chosen_rewards, rejected_rewards")
    r = grade_one("dpo", src)
    c = check(r, "output_types")
    assert c.status == "fail"
    assert "'loss' should be float64 (the inputs' dtype), got float32" in c.message


def test_exception_in_some_cases_is_an_error_with_the_line(grade_one):
    src = dpo_with("    h = chosen_logratio - rejected_logratio  # [B]",
                   "    h = chosen_logratio - rejected_logratio\n    if h.dtype == torch.float64:\n        raise ValueError('no float64 here')")
    r = grade_one("dpo", src)
    c = check(r, "values")
    assert c.status == "error"
    assert "raised ValueError: no float64 here at dpo.py:" in c.message
    assert r.status == "fail"


def test_unexplained_failures_point_to_the_hint(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()", "    loss = -F.logsigmoid(beta * h + 0.01).mean()")
    r = grade_one("dpo", src)
    c = check(r, "values")
    assert c.status == "fail" and c.mistake is None
    assert c.message.endswith("Not one of the catalogued mistakes; `kata hint dpo` explains the computation step by step.")


def test_consequences_of_a_named_mistake_say_so(grade_one):
    src = dpo_with("    chosen_mask = chosen_mask.to(policy_chosen_logps.dtype)", "    chosen_mask = torch.ones_like(policy_chosen_logps)")
    r = grade_one("dpo", src)
    assert check(r, "values").mistake == "mask not applied"
    c = check(r, "masked_grad_zero")
    assert c.status == "fail"
    assert c.message.endswith("Probably a consequence of 'mask not applied' (see values).")


def test_behaviour_fails_when_rejected_probability_does_not_fall(grade_one):
    # A loss that ignores the rejected answer entirely: π(y_l) is never pushed down.
    src = dpo_with("    h = chosen_logratio - rejected_logratio  # [B]", "    h = chosen_logratio - 0 * rejected_logratio")
    r = grade_one("dpo", src)
    c = check(r, "behaviour")
    assert c.status == "fail"
    assert "π(y_l) did not fall" in c.message


def test_switching_an_inputs_autograd_flag_fails_inputs_unchanged(grade_one):
    """The caller's tensor loses requires_grad: its values are intact, its next backward breaks.
    A constant (advantages' rewards) and a differentiated input (dpo's log-probs) alike."""
    rloo = solution_source("advantages").replace(
        '    grouped = _grouped(rewards, group_size)  # [B/G, G]\n    others',
        '    rewards.requires_grad_(False)\n    grouped = _grouped(rewards, group_size)  # [B/G, G]\n    others')
    assert rloo != solution_source("advantages")
    c = check(grade_one("advantages", rloo), "inputs_unchanged")
    assert c.status == "fail"
    assert c.message.startswith("rloo_advantages: case ")
    assert "the call switched requires_grad of 'rewards', the caller's tensor" in c.message
    src = dpo_with("    chosen_mask = chosen_mask.to(", "    policy_chosen_logps.detach_()\n    chosen_mask = chosen_mask.to(")
    c = check(grade_one("dpo", src), "inputs_unchanged")
    assert c.status == "fail" and "switched requires_grad of 'policy_chosen_logps'" in c.message


def test_a_value_error_without_a_message_fails_bad_input(grade_one):
    src = solution_source("kl_penalty").replace('raise ValueError(f"unknown kind {kind!r}', 'raise ValueError("" and f"{kind!r}')
    assert src != solution_source("kl_penalty")
    c = check(grade_one("kl_penalty", src), "bad_input")
    assert c.status == "fail"
    assert c.message == ("input 'kind='k4'' should raise ValueError with a message saying what is wrong; it raised "
                         "ValueError with no message. Not one of the catalogued mistakes; `kata hint kl_penalty` "
                         "explains the computation step by step.")
    assert c.mistake is None


def test_an_output_with_a_graph_is_named_only_by_its_own_mistake(grade_one):
    """kto's kl (z0) keeping kl_ref_logps' graph is not 'rewards not detached': the check names
    the output, and no catalogued mistake of another output."""
    src = solution_source("kto").replace("z0 = (kl_policy_logps - kl_ref_logps).mean().clamp(min=0).detach()",
                                         "z0 = (kl_policy_logps.detach() - kl_ref_logps).mean().clamp(min=0)")
    assert src != solution_source("kto")
    r = grade_one("kto", src)
    c = check(r, "rewards_detached")
    assert c.status == "fail" and c.mistake is None
    assert "'kl' carries an autograd graph (requires_grad=True)" in c.message
    rewards = solution_source("kto").replace("return losses.mean(), rewards, z0", "return losses.mean(), r, z0")
    assert rewards != solution_source("kto")
    c = check(grade_one("kto", rewards), "rewards_detached")
    assert c.status == "fail" and c.mistake == "rewards not detached"


def test_an_input_changed_in_place_only_without_a_graph_fails_inputs_unchanged(grade_one):
    """Constants come without requires_grad in training, where an in-place change raises nothing:
    a copy made only when the input carries a graph hides the change from the graded runs."""
    src = solution_source("advantages").replace(
        "    return rewards.detach().reshape(-1, group_size)",
        "    return (rewards.detach().clone() if rewards.requires_grad else rewards).reshape(-1, group_size)").replace(
        "    advantages = grouped - grouped.mean(dim=1, keepdim=True)  # [B/G, G]",
        "    advantages = grouped.sub_(grouped.mean(dim=1, keepdim=True))  # [B/G, G]")
    assert src.count("sub_(") == 1 and "else rewards" in src
    c = check(grade_one("advantages", src), "inputs_unchanged")
    assert c.status == "fail"
    assert ("called with inputs that carry no graph (as old log-probs, advantages and masks do in training), "
            "the function modified 'rewards' in place.") in c.message


# ------------------------------------------------------------------ calls made as training makes them
def test_another_path_without_a_graph_fails_values(grade_one):
    """Code may branch on requires_grad (an evaluation path): the calls without a graph are judged too."""
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean() if h.requires_grad else -F.logsigmoid(beta * h).sum()")
    r = grade_one("dpo", src)
    c = check(r, "values")
    assert c.status == "fail"
    assert "called with inputs that carry no graph (under torch.no_grad, as in training): 'loss'" in c.message
    assert "With a graph the outputs match: the code takes another path when nothing needs a gradient." in c.message


def test_another_dtype_without_a_graph_fails_output_types(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean()\n"
                   "    if not h.requires_grad:\n"
                   "        loss = loss.double()")
    c = check(grade_one("dpo", src), "output_types")
    assert c.status == "fail"
    assert ", called with inputs that carry no graph (under torch.no_grad): 'loss' should be float32 of shape [] " \
           "as with a graph, got float64 of shape []" in c.message


def test_an_output_a_later_call_overwrites_fails_values(grade_one):
    src = "import torch\n_KEPT = {}\n" + dpo_with(
        "    loss = -F.logsigmoid(beta * h).mean()",
        "    loss = -F.logsigmoid(beta * h).mean()\n"
        "    if not h.requires_grad:  # a buffer kept per shape, written again by the next call\n"
        "        kept = _KEPT.setdefault((loss.shape, loss.dtype), torch.empty_like(loss))\n"
        "        loss = kept.copy_(loss)")
    c = check(grade_one("dpo", src), "values")
    assert c.status == "fail"
    assert "'loss' changed after it was returned, when the function was called again" in c.message


def test_results_kept_by_the_inputs_identity_fail_values_at_every_seed(grade_one):
    """The decoy call (the batch rolled by a row, in the same tensors) makes an id()-keyed cache
    hit on every case, not when CPython happens to reuse an address."""
    src = "_SEEN = {}\n" + dpo_with("def dpo_loss(", "def _dpo_loss(") + """

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    args = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, chosen_mask,
            rejected_mask)
    key = tuple(id(a) for a in args) + (beta,)
    if key not in _SEEN:
        _SEEN[key] = _dpo_loss(*args, beta)
    return _SEEN[key]
"""
    for seed in (0, 1, 2):
        assert check(grade_one("dpo", src, seed=seed), "values").status == "fail", seed


def test_leaving_grad_mode_on_fails_inputs_unchanged(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean()\n    torch.set_grad_enabled(True)")
    c = check(grade_one("dpo", src), "inputs_unchanged")
    assert c.status == "fail"
    assert "the call left gradient recording on inside the caller's torch.no_grad()" in c.message


def test_a_keyword_only_option_fails_signature(grade_one):
    c = check(grade_one("dpo", dpo_with("    beta: float = 0.1,", "    *,\n    beta: float = 0.1,")),
              "signature")
    assert c.status == "fail"
    assert "rejected_mask, *, beta=0.1): 'beta' is keyword-only (it follows * or *args), so a call that passes it " \
           "by position raises." in c.message


def test_a_backward_that_ignores_grad_output_fails_gradients(grade_one):
    """A loss's backward receives grad_output 0.5 (a trainer scales losses): ignoring it is off by 2x."""
    src = """
import torch
import torch.nn.functional as F


class Loss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.softplus(-x).mean()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -torch.sigmoid(-x) / x.numel()  # grad_output never applied


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(policy_chosen_logps.dtype)).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(policy_rejected_logps.dtype)).sum(-1)
    return Loss.apply(beta * (c - r)), (beta * c).detach(), (beta * r).detach()
"""
    c = check(grade_one("dpo", src), "gradients")
    assert c.status == "fail" and "d loss / d policy_chosen_logps" in c.message, c.message
