"""Each generic check fails on the submission it exists for, with its message."""
from __future__ import annotations

import pytest

from tests.conftest import check, solution_source

DPO = solution_source("dpo")


def dpo_with(old: str, new: str) -> str:
    assert old in DPO, old
    return DPO.replace(old, new)


def test_in_place_change_of_an_input_fails_inputs_unchanged_only(grade_one):
    # .data: a write that autograd does not refuse, although the reference's log-probs require grad
    src = dpo_with("    chosen_mask = chosen_mask.to(",
                   "    ref_chosen_logps.data.mul_(chosen_mask.to(ref_chosen_logps.dtype))\n    chosen_mask = chosen_mask.to(")
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
import pytest
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
                   "    h = chosen_logratio - rejected_logratio + torch.zeros(chosen_logratio.shape[0], "
                   "dtype=chosen_logratio.dtype)")
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
    assert "called with inputs that carry no graph" in c.message
    assert "takes another path when" in c.message and "nothing needs a gradient." in c.message


def test_another_dtype_without_a_graph_fails_output_types(grade_one):
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean()\n"
                   "    if not h.requires_grad:\n"
                   "        loss = loss.double()")
    c = check(grade_one("dpo", src), "output_types")
    assert c.status == "fail"
    assert ", called with inputs that carry no graph (under torch.no_grad" in c.message
    assert ": 'loss' should be float32 of shape [] as with a graph, got float64 of shape []" in c.message


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
    """A loss's backward receives grad_output 2**16 (a trainer scales losses): ignoring it is off by that."""
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


PPO = solution_source("ppo")
KL = solution_source("kl_penalty")


def with_wrapper(source: str, name: str, wrapper: str) -> str:
    """`source` with its function `name` wrapped by `wrapper` (a decorator defined in it)."""
    assert f"def {name}(" in source
    return source.replace(f"def {name}(", wrapper + f"\n\n@_wrapped\ndef {name}(", 1)


def test_a_wrapper_that_forwards_only_keyword_options_fails_values(grade_one):
    """Options are passed by position on the no-graph calls of every other case: a decorator that
    forwards the tensors and keyword options only drops a positional β silently."""
    wrapper = """import functools


def _wrapped(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args[:6], **kwargs)
    return inner"""
    c = check(grade_one("dpo", with_wrapper(DPO, "dpo_loss", wrapper)), "values")
    assert c.status == "fail"
    assert "gradient recording on (no torch.no_grad) and the options passed by position" in c.message
    assert "With a graph and the options by keyword the outputs match: the code takes another path when its " \
           "options come by position" in c.message


def test_a_backward_that_reads_a_class_attribute_fails_gradients(grade_one):
    """Two losses built before one backward: a backward that reads what the latest forward left on
    the class gives the second call's gradients to the first."""
    src = """
import torch
import torch.nn.functional as F


class Loss(torch.autograd.Function):
    last = None

    @staticmethod
    def forward(ctx, x):
        Loss.last = x.detach().clone()
        return F.softplus(-x).mean()

    @staticmethod
    def backward(ctx, grad):
        return -torch.sigmoid(-Loss.last) / Loss.last.numel() * grad


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(policy_chosen_logps.dtype)).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(policy_rejected_logps.dtype)).sum(-1)
    return Loss.apply(beta * (c - r)), (beta * c).detach(), (beta * r).detach()
"""
    c = check(grade_one("dpo", src), "gradients")
    assert c.status == "fail"
    assert "differentiated after the function was called a second time on other inputs" in c.message
    assert "the backward reads something the second call overwrote" in c.message


def test_a_backward_run_inside_the_function_fails_inputs_unchanged(grade_one):
    src = dpo_with("    chosen_rewards = (beta * chosen_logratio).detach()",
                   "    if loss.requires_grad:  # to log a gradient norm\n"
                   "        loss.backward(retain_graph=True)\n"
                   "    chosen_rewards = (beta * chosen_logratio).detach()")
    c = check(grade_one("dpo", src), "inputs_unchanged")
    assert c.status == "fail"
    assert ".grad, the caller's tensor: it ran a backward pass itself" in c.message


def test_a_backward_that_clips_its_grad_output_fails_gradients(grade_one):
    """grad_output is 2**16, as under float16 loss scaling: clipping it to [-1, 1] shows."""
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
        return -torch.sigmoid(-x) / x.numel() * grad.clamp(-1, 1)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    c = ((policy_chosen_logps - ref_chosen_logps) * chosen_mask.to(policy_chosen_logps.dtype)).sum(-1)
    r = ((policy_rejected_logps - ref_rejected_logps) * rejected_mask.to(policy_rejected_logps.dtype)).sum(-1)
    return Loss.apply(beta * (c - r)), (beta * c).detach(), (beta * r).detach()
"""
    c = check(grade_one("dpo", src), "gradients")
    assert c.status == "fail" and "d loss / d policy_chosen_logps" in c.message, c.message


def test_an_inference_tensor_output_fails_output_types(grade_one):
    src = dpo_with("    chosen_rewards = (beta * chosen_logratio).detach()\n"
                   "    rejected_rewards = (beta * rejected_logratio).detach()",
                   "    with torch.inference_mode():\n"
                   "        chosen_rewards = beta * chosen_logratio.detach()\n"
                   "        rejected_rewards = beta * rejected_logratio.detach()")
    c = check(grade_one("dpo", src), "output_types")
    assert c.status == "fail"
    assert "'chosen_rewards' is an inference tensor (made under torch.inference_mode)" in c.message


def test_a_tensor_made_in_the_default_dtype_fails_output_types(grade_one):
    src = dpo_with("    h = chosen_logratio - rejected_logratio  # [B]",
                   "    h = chosen_logratio - rejected_logratio + torch.zeros(chosen_logratio.shape[0])")
    c = check(grade_one("dpo", src), "output_types")
    assert c.status == "fail"
    assert "called with torch.set_default_dtype(torch.float64) in force" in c.message
    assert "'loss' came back float64 for float32 inputs" in c.message


def test_reseeding_torch_fails_inputs_unchanged(grade_one):
    src = dpo_with("    chosen_mask = chosen_mask.to(", "    torch.manual_seed(0)\n    chosen_mask = chosen_mask.to(")
    c = check(grade_one("dpo", src), "inputs_unchanged")
    assert c.status == "fail"
    assert "changed torch's random number generator" in c.message



@pytest.mark.parametrize("change, named", [
    ("torch.set_num_threads(1)", "changed torch's thread count (torch.set_num_threads) from"),
    ("torch.autograd.set_detect_anomaly(True)", "changed torch's anomaly detection"),
    ("torch.set_float32_matmul_precision('medium')", "changed torch's float32 matmul precision"),
])
def test_a_process_wide_torch_setting_left_changed_fails_inputs_unchanged(grade_one, change, named):
    """Every setting of grader.checks.torch_state, not only the dtype and the generator: a loss
    that leaves one threads down to one, or anomaly detection on, slows the whole trainer."""
    src = dpo_with("    chosen_mask = chosen_mask.to(", f"    {change}\n    chosen_mask = chosen_mask.to(")
    r = grade_one("dpo", src)
    c = check(r, "inputs_unchanged")
    assert c.status == "fail"
    assert named in c.message
    assert "put the old value back before returning" in c.message
    assert [x.name for x in r.failed_checks] == ["inputs_unchanged"]


def test_a_setting_changed_and_put_back_inside_the_call_passes(grade_one):
    src = dpo_with("    chosen_mask = chosen_mask.to(",
                   "    threads = torch.get_num_threads()\n    torch.set_num_threads(1)\n"
                   "    torch.set_num_threads(threads)\n    chosen_mask = chosen_mask.to(")
    assert grade_one("dpo", src).status == "pass"


def test_a_hook_left_on_an_input_fails_inputs_unchanged(grade_one):
    """A hook that masks the gradient is a no-op for this call, and zeroes another loss term's
    gradient through the same tensor: the hook itself is the mistake."""
    src = dpo_with("    chosen_mask = chosen_mask.to(",
                   "    if policy_chosen_logps.requires_grad:\n"
                   "        policy_chosen_logps.register_hook(lambda g: g * chosen_mask.to(g.dtype))\n"
                   "    chosen_mask = chosen_mask.to(")
    r = grade_one("dpo", src)
    c = check(r, "inputs_unchanged")
    assert c.status == "fail"
    assert "left an autograd hook on 'policy_chosen_logps', the caller's tensor" in c.message
    assert [x.name for x in r.failed_checks] == ["inputs_unchanged"]


def test_an_in_place_write_of_the_same_values_fails_inputs_unchanged(grade_one):
    """The values come out the same, the version counter does not: the caller's backward through
    that tensor raises."""
    src = dpo_with("    chosen_mask = chosen_mask.to(",
                   "    if chosen_mask.stride()[0]:\n        chosen_mask.copy_(chosen_mask.clone())\n"
                   "    chosen_mask = chosen_mask.to(")
    r = grade_one("dpo", src)
    c = check(r, "inputs_unchanged")
    assert c.status == "fail"
    assert "wrote into 'chosen_mask' in place (its version counter moved" in c.message
    assert [x.name for x in r.failed_checks] == ["inputs_unchanged"]


SCRATCH = """

class _Scratch(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, buf):
        ctx.buf = buf
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        ctx.buf.zero_()  # the returned rewards used as scratch space
        return g, None
"""


def test_a_backward_that_writes_into_a_returned_output_fails_gradients(grade_one):
    src = dpo_with("    return loss, chosen_rewards, rejected_rewards",
                   "    return _Scratch.apply(loss, chosen_rewards), chosen_rewards, rejected_rewards") + SCRATCH
    r = grade_one("dpo", src)
    c = check(r, "gradients")
    assert c.status == "fail"
    assert "the backward changed 'chosen_rewards' after the function had returned it" in c.message
    assert [x.name for x in r.failed_checks] == ["gradients"]


RENAMED = """

def _renamed(f):
    import functools

    @functools.wraps(f)
    def wrapper(pc, pr, rc, rr, cm, rm, beta=0.1):
        return f(pc, pr, rc, rr, cm, rm, beta=beta)
    return wrapper


dpo_loss = _renamed(dpo_loss)
"""


def test_a_wrapper_whose_parameters_have_other_names_fails_on_the_call_by_name(grade_one):
    """inspect.signature follows __wrapped__, so the signature check sees the contract's names;
    only a call by name shows the wrapper's."""
    r = grade_one("dpo", DPO + RENAMED)
    c = check(r, "values")
    assert c.status == "error"
    assert "every input and option passed by name" in c.message and "TypeError" in c.message
    assert check(r, "signature").status == "pass"


def test_a_default_device_left_set_fails_inputs_unchanged_and_is_not_the_graders_fault(grade_one):
    """torch.set_default_device(x.device) changes nothing on the CPU; on 'meta' tensors (a GPU's,
    in training) it does. It once broke the child's own code after the meta probe: an error
    blamed on the grader."""
    src = dpo_with("    chosen_mask = chosen_mask.to(",
                   "    torch.set_default_device(policy_chosen_logps.device)\n    chosen_mask = chosen_mask.to(")
    r = grade_one("dpo", src)
    c = check(r, "inputs_unchanged")
    assert r.status == "fail" and c.status == "fail", (r.status, r.message)
    assert "changed torch's default device (torch.set_default_device) from cpu to meta" in c.message
    assert [x.name for x in r.failed_checks] == ["inputs_unchanged"]


def test_a_setting_left_changed_when_a_bad_input_raises_fails_bad_input(grade_one):
    """The error path must put back what the function changed, as the normal path does."""
    src = KL.replace('    if kind not in KINDS:\n', '    torch.set_default_dtype(torch.float64)\n    if kind not in KINDS:\n')
    src = src.replace("    d = ref_logps - logps  # [B, T] log r\n",
                      "    torch.set_default_dtype(torch.float32)\n    d = ref_logps - logps  # [B, T] log r\n")
    assert src.count("set_default_dtype") == 2
    r = grade_one("kl_penalty", src)
    c = check(r, "bad_input")
    assert c.status == "fail"
    assert "the call changed torch's default dtype from torch.float32 to torch.float64 and did not put it back" \
        in c.message
    assert [x.name for x in r.failed_checks] == ["bad_input"]


def test_code_that_detaches_an_input_only_when_another_has_no_graph_fails_gradients(grade_one):
    """kl with a frozen policy and a learned reference: only ref_logps requires grad."""
    src = KL.replace("    d = ref_logps - logps  # [B, T] log r\n",
                     "    if not logps.requires_grad:\n        ref_logps = ref_logps.detach()\n"
                     "    d = ref_logps - logps  # [B, T] log r\n")
    assert src != KL
    r = grade_one("kl_penalty", src)
    c = check(r, "gradients")
    assert c.status == "fail"
    assert "with only ref_logps requiring grad (the other inputs without a graph): no gradient reaches 'ref_logps'" \
        in c.message
    assert [x.name for x in r.failed_checks] == ["gradients", "keeps_graph"]  # the output has no grad_fn there


def test_outputs_that_keep_one_inputs_graph_when_it_alone_requires_grad_fail_rewards_detached(grade_one):
    """gae's rewards from a learned reward model, values from a frozen critic."""
    gae = solution_source("gae")
    src = gae.replace("    rewards, values = rewards.detach(), values.detach()\n",
                      "    if values.requires_grad:\n        rewards, values = rewards.detach(), values.detach()\n")
    assert src != gae
    r = grade_one("gae", src)
    c = check(r, "rewards_detached")
    assert c.status == "fail"
    assert ", with only rewards requiring grad: 'advantages' carries an autograd graph" in c.message

def test_turning_grad_mode_off_for_the_caller_fails_inputs_unchanged(grade_one):
    """A call with gradient recording on and inputs without a graph (an evaluation step without
    torch.no_grad) must leave it on."""
    src = dpo_with("    loss = -F.logsigmoid(beta * h).mean()",
                   "    loss = -F.logsigmoid(beta * h).mean()\n"
                   "    torch.set_grad_enabled(policy_chosen_logps.requires_grad)")
    c = check(grade_one("dpo", src), "inputs_unchanged")
    assert c.status == "fail"
    assert "the call turned gradient recording off for its caller" in c.message


def test_a_count_cached_by_the_masks_identity_fails_values(grade_one):
    """The decoy flips 0/1 masks, so a statistic kept per mask tensor (the token count, which a
    rolled batch would leave as it was) goes stale."""
    src = "_COUNTS = {}\n" + PPO.replace(
        "    count = mask.sum().clamp(min=1.0)  # []",
        "    if id(mask) not in _COUNTS:\n"
        "        _COUNTS[id(mask)] = mask.sum().clamp(min=1.0)\n"
        "    count = _COUNTS[id(mask)]")
    assert src.count("_COUNTS[id(mask)]") == 2
    c = check(grade_one("ppo", src), "values")
    assert c.status == "fail"


def test_a_buffer_kept_per_input_shape_fails_values(grade_one):
    """Every case has shapes of its own: the decoy after the call (same shapes, other values)
    overwrites a buffer kept per input shape."""
    src = "import torch\n_KEPT = {}\n" + dpo_with(
        "    loss = -F.logsigmoid(beta * h).mean()",
        "    loss = -F.logsigmoid(beta * h).mean()\n"
        "    if not h.requires_grad:\n"
        "        key = (policy_chosen_logps.shape, policy_rejected_logps.shape, loss.dtype)\n"
        "        loss = _KEPT.setdefault(key, torch.empty_like(loss)).copy_(loss)")
    c = check(grade_one("dpo", src), "values")
    assert c.status == "fail"
    assert "'loss' changed after it was returned, when the function was called again" in c.message


def test_a_backward_that_views_or_changes_its_grad_output_fails_gradients(grade_one):
    """A per-token output's backward receives a non-contiguous grad_output (a slice of a larger
    gradient): .view raises; changing it in place is caught as well."""
    function = """
import torch


class K2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logps, ref_logps):
        d = logps - ref_logps
        ctx.save_for_backward(d)
        return 0.5 * d * d

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        {body}
        return g * d, -(g * d)


def kl_penalty(logps, ref_logps, kind="k3"):
    if kind not in ("k1", "k2", "k3"):
        raise ValueError(f"unknown kind {{kind!r}}")
    d = logps - ref_logps
    if kind == "k1":
        return d
    if kind == "k2":
        return K2.apply(logps, ref_logps)
    return torch.exp(-d) + d - 1
"""
    viewed = check(grade_one("kl_penalty", function.format(body="g = grad.view(-1).view(grad.shape)")), "gradients")
    assert viewed.status in ("fail", "error") and "view size is not compatible" in viewed.message, viewed.message
    changed = check(grade_one("kl_penalty", function.format(body="g = grad.clone()\n        grad.mul_(3.0)")),
                    "gradients")
    assert changed.status == "fail"
    assert "the backward changed the gradient it received (grad_output) in place" in changed.message


def test_no_input_of_a_probe_gets_the_address_of_an_earlier_one():
    """Every input a probe hands the function stays alive until the probe ends
    (grader.checks.runs.kept_alive): no input gets the address of one the allocator freed, so
    a cache keyed by data_ptr() is hit only by the decoy's call on the same tensor. (The
    behaviour run, a training loop of fresh tensors, is left out.)"""
    import dataclasses
    import importlib
    import weakref

    from grader import registry

    spec = dataclasses.replace(importlib.import_module(registry.get("dpo").spec).SPEC, behaviour=None)
    reference = importlib.import_module("solutions.dpo").dpo_loss
    earlier: dict[int, list[weakref.ref]] = {}
    reused: list[int] = []

    def recording(policy_chosen_logps, *args, **kwargs):
        address = policy_chosen_logps.untyped_storage().data_ptr()
        if any(ref() is None for ref in earlier.get(address, [])):
            reused.append(address)  # an earlier input at this address is gone: its memory was given again
        earlier.setdefault(address, []).append(weakref.ref(policy_chosen_logps))
        return reference(policy_chosen_logps, *args, **kwargs)

    module = type("Submission", (), {"dpo_loss": staticmethod(recording)})
    spec.probe(module, spec.make_cases(0), 0, "off")
    assert sum(len(refs) for refs in earlier.values()) > 100
    assert reused == []


@pytest.mark.parametrize("cached_when", ["chosen_mask.numel() >= 512", "chosen_mask.numel() >= 2048",
                                         "chosen_mask.stride()[0] == 0", "chosen_mask.shape[0] == 1"])
def test_results_kept_by_address_for_some_inputs_only_fail_values(grade_one, cached_when):
    """The decoy before the real call reaches every case (up to DECOY_MAX_ELEMENTS, past the
    largest), expanded masks and single rows included, where a cache "worth it for long padded
    batches" would live."""
    src = "_SEEN = {}\n" + dpo_with("def dpo_loss(", "def _dpo_loss(") + f"""

def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_mask, rejected_mask, beta=0.1):
    args = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, chosen_mask,
            rejected_mask)
    if not ({cached_when}):
        return _dpo_loss(*args, beta)
    key = tuple(a.data_ptr() for a in args) + (beta,)
    if key not in _SEEN:
        _SEEN[key] = _dpo_loss(*args, beta)
    return _SEEN[key]
"""
    c = check(grade_one("dpo", src), "values")
    assert c.status == "fail", c.message
