"""The `inputs_unchanged` check: what a call leaves behind for its caller. The inputs bit for bit,
their autograd flags, versions and hooks, no `.grad` set on them, and torch's grad mode and
process-wide settings (grader.checks.torch_state) as the caller had them."""
from __future__ import annotations

import torch

from grader.core.compare import equal_exactly
from grader.core.results import CheckResult
from grader.checks.context import Context, fail, mistake_at, named


def check_inputs_unchanged(ctx: Context) -> CheckResult:
    """Every tensor the function receives, options (a [B] label) included, bit for bit."""
    checked = 0
    for run, case in zip(ctx.runs, ctx.cases):
        given = {**case.inputs, **{k: v for k, v in case.options.items() if isinstance(v, torch.Tensor)}}
        for name, before in given.items():
            checked += 1
            after = run["inputs_after"].get(name)
            if after is None or not equal_exactly(after, before):
                mistake = mistake_at(ctx, "inputs_unchanged", name)
                return fail("inputs_unchanged", f"case {case.describe()}: '{name}' was modified in place by the call. "
                            "Work on new tensors (x = x * m, not x *= m; no .masked_fill_, .clamp_ or .copy_ on "
                            "inputs; torch.as_tensor(t) returns t itself)." + named(mistake), mistake)
        grad_set = [n for n in (run.get("grad_set") or []) if n in given]
        if grad_set:  # a backward run inside the function: the caller's next backward adds to it
            return fail("inputs_unchanged", f"case {case.describe()}: the call set '{grad_set[0]}'.grad, the caller's "
                        "tensor: it ran a backward pass itself (loss.backward() inside, e.g. to log a gradient norm), "
                        "so the trainer's own backward accumulates the gradient twice. Return the loss; leave "
                        "backward to the caller (torch.autograd.grad does not touch .grad).")
        flags = run.get("flags_changed") or []
        changed = [n for n in given if n in flags] if isinstance(flags, list) else list(given)
        if changed:  # the caller's tensor lost (or gained) requires_grad: its next backward breaks
            return fail("inputs_unchanged", f"case {case.describe()}: the call switched requires_grad of "
                        f"'{changed[0]}', the caller's tensor. Leave the inputs' autograd flags alone "
                        "(no .requires_grad_(False) or .detach_() on an input): use x.detach(), a new tensor.")
        hooked = [n for n in given if n in (run.get("hooked") or [])]
        if hooked:  # e.g. a hook that masks the gradient: every other loss term through it loses its own
            return fail("inputs_unchanged", f"case {case.describe()}: the call left an autograd hook on "
                        f"'{hooked[0]}', the caller's tensor (register_hook): it acts on every later backward through "
                        "that tensor, another loss term's too. Change the gradient inside the function (a mask "
                        "multiplied in, a custom autograd.Function), not on the caller's tensors.")
        written = [n for n in given if n in (run.get("written") or [])]
        if written:  # same values, but the version moved: the caller's backward through it raises
            return fail("inputs_unchanged", f"case {case.describe()}: the call wrote into '{written[0]}' in place "
                        "(its version counter moved, even if the values came out the same, e.g. .clamp_() on "
                        "values already in range): autograd then refuses the caller's own backward through that "
                        "tensor (\"modified by an inplace operation\"). Work on a copy.")
    no_grad = ctx.cand.get("no_grad")
    at = no_grad.get("case") if isinstance(no_grad, dict) else None
    at = at if type(at) is int and 0 <= at < len(ctx.cases) else 0  # the child's say-so: checked
    for probe, case, how in ((no_grad, ctx.cases[at], "called"),
                             (ctx.cand.get("rows"), ctx.cases[ctx.spec.row_case], "graded one row at a time")):
        changed = probe.get("inputs_changed") if isinstance(probe, dict) else None
        names = ", ".join(f"'{n}'" for n in changed if isinstance(n, str))[:300] if isinstance(changed, list) else ""
        if names:
            return fail("inputs_unchanged", f"case {case.describe()}: {how} with inputs that carry no graph (as old "
                        f"log-probs, advantages and masks do in training), the function modified {names} in place. "
                        "Work on new tensors (x = x * m, not x *= m).")
    state = no_grad.get("global_state") if isinstance(no_grad, dict) else None
    meta = ctx.cand.get("meta")
    if not isinstance(state, dict) and isinstance(meta, dict) and isinstance(meta.get("left"), str):
        state = {"case": 0, "what": f"{meta['left']} (called on 'meta' tensors, as a GPU's are elsewhere)"}
    if isinstance(state, dict) and type(state.get("case")) is int and 0 <= state["case"] < len(ctx.cases):
        return fail("inputs_unchanged", f"case {ctx.cases[state['case']].describe()}: the call "
                    f"{str(state.get('what'))[:200]}. The caller's state must stay as it was: change it only inside a "
                    "block that restores it (`with torch.no_grad():`, `torch.enable_grad()`, a torch.Generator of "
                    "your own for random draws), or put the old value back before returning.")
    return CheckResult("inputs_unchanged", "pass", f"all {checked} tensors passed (inputs and options) unchanged")
