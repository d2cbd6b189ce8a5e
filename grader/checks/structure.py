"""The structural checks (types, graph, masks, rows, devices, behaviour),
each a `Context -> CheckResult` that never prints."""
from __future__ import annotations

from typing import Any

import torch

from grader.core.compare import compare, fmt_index, fmt_num
from grader.core.results import CheckResult
from grader.checks.context import Context, all_errored, bare_call, constant_in, error_text, errored, fail, mistake_at, \
    named, smallest_first
from grader.checks.as_trained import trained_inputs
from grader.checks.diagnose import finding


def squeezed(got: list[int], want: list[int]) -> bool:
    """True when `got` is `want` with some of its size-1 dimensions dropped."""
    return got != want and len(got) < len(want) and got == [d for d in want if d != 1][: len(got)] and \
        [d for d in want if d != 1] == [d for d in got if d != 1]


def check_output_types(ctx: Context) -> CheckResult:
    spec = ctx.spec
    problems, checked, key = [], 0, None
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, ref = ctx.runs[i], ctx.ref_runs[i]
        if run["error"]:
            continue
        checked += 1
        where = f"case {ctx.cases[i].describe()}"
        if len(spec.outputs) > 1 and run.get("container") not in ("tuple", "list"):
            problems.append(f"{where}: expected a tuple {spec.outputs}, got {run.get('container')}")
            continue
        returned = run.get("returned")
        if len(spec.outputs) > 1 and returned is not None and returned != len(spec.outputs):
            problems.append(f"{where}: returned {returned} values; the contract has {len(spec.outputs)}: "
                            f"({', '.join(spec.outputs)})")
            key = key or ("extra_outputs" if returned > len(spec.outputs) else None)
            continue
        for name, got, want in zip(spec.outputs, run["types"], ref["types"]):
            if not got["tensor"]:
                problems.append(f"{where}: '{name}' should be a tensor, got {got['type']}")
            elif got["inference"]:
                problems.append(f"{where}: '{name}' is an inference tensor (made under torch.inference_mode): a "
                                "later step that uses it next to a tensor requiring grad raises. Use torch.no_grad()")
            elif got["shape"] != want["shape"]:
                problems.append(f"{where}: '{name}' should have shape {want['shape']}, got {got['shape']}")
                key = key or ("squeezed" if squeezed(got["shape"], want["shape"]) else None)
            elif got["dtype"] != want["dtype"]:
                problems.append(f"{where}: '{name}' should be {want['dtype']} (the inputs' dtype), got {got['dtype']}")
    if not checked:
        return all_errored("output_types", ctx)
    if not problems:  # the calls without a graph, where code may take another path
        for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
            run, ref = ctx.cand["no_grad"]["runs"][i], ctx.ref_runs[i]
            if run["error"] or ctx.runs[i]["error"]:
                continue
            where = f"case {ctx.cases[i].describe()}, {bare_call(run)}"
            for name, got, want in zip(spec.outputs, run["types"], ref["types"]):
                if not got["tensor"] or got["shape"] != want["shape"] or got["dtype"] != want["dtype"]:
                    have = got["type"] if not got["tensor"] else f"{got['dtype']} of shape {got['shape']}"
                    problems.append(f"{where}: '{name}' should be {want['dtype']} of shape {want['shape']} as with "
                                    f"a graph, got {have}")
                    break
                if got["inference"]:
                    problems.append(f"{where}: '{name}' is an inference tensor (made under torch.inference_mode): a "
                                    "later step that uses it next to a tensor requiring grad raises. Use torch.no_grad()")
                    break
    if not problems:
        problems += _under_default_float64(ctx)
    if problems:
        msg = problems[0] + (f" ({len(problems) - 1} more like it)" if len(problems) > 1 else "") + "."
        mistake, said, details = finding(ctx, key) if key else (None, "", {})
        return fail("output_types", msg + said, mistake, **details)
    return CheckResult("output_types", "pass", f"{len(spec.outputs)} output(s) of the right shape and dtype on {checked} cases")


def _under_default_float64(ctx: Context) -> list[str]:
    """The problem, if any, of the call made under torch.set_default_dtype(torch.float64)
    (grader.checks.probe.probe_default_float64): outputs in the inputs' float32 all the same."""
    probe = ctx.cand.get("default_float64")
    i = probe.get("case") if isinstance(probe, dict) else None
    if type(i) is not int or not 0 <= i < len(ctx.cases) or ctx.runs[i]["error"]:
        return []
    where = (f"case {ctx.cases[i].describe()}, called with torch.set_default_dtype(torch.float64) in force (as code "
             "that wants float64 precision elsewhere sets it)")
    if probe["error"]:
        return [f"{where}: the function {error_text(probe['error'])}; with float32 as the default it ran"]
    for name, got, want in zip(ctx.spec.outputs, probe["types"], ctx.ref_runs[i]["types"]):
        if got.get("tensor") and got.get("dtype") != want["dtype"]:
            return [f"{where}: '{name}' came back {got.get('dtype')} for {want['dtype']} inputs. A tensor made without "
                    "dtype= (torch.tensor, torch.zeros, torch.arange, torch.ones) takes the default dtype: make it "
                    "with dtype=x.dtype, or as a Python number"]
    return []


def check_masked_grad_zero(ctx: Context) -> CheckResult:
    spec = ctx.spec
    checked = 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, case = ctx.runs[i], ctx.cases[i]
        for g_name in spec.masks:
            grad = run["grads"].get(g_name) if not run["error"] else None
            if grad is None or grad.shape != case.inputs[g_name].shape:
                continue
            checked += 1
            masked = spec.masked_positions(case, g_name)
            leaks = masked & (grad != 0)
            if bool(leaks.any()):
                idx = tuple(int(x) for x in leaks.nonzero()[0])
                mistake = mistake_at(ctx, "masked_grad_zero")
                return fail("masked_grad_zero",
                            f"case {case.describe()}: d {spec.graph_output} / d {g_name} is nonzero at "
                            f"{int(leaks.sum())} of {int(masked.sum())} masked positions, e.g. {fmt_index(idx)} = "
                            f"{fmt_num(float(grad[idx]))}. Prompt and padding tokens must not move the loss."
                            + named(mistake), mistake)
    if not checked:
        return CheckResult("masked_grad_zero", "skip", "no gradient to inspect (see the gradients check)")
    return CheckResult("masked_grad_zero", "pass", f"gradients are exactly 0 at every masked position ({checked} tensors)")


def _alone_runs(ctx: Context) -> list[tuple[int, dict[str, Any], str]]:
    """(case, run, how it was made) of the runs with one input alone requiring grad."""
    return [(run["case"], run, f", with only {run['input']} requiring grad")
            for run in ctx.cand.get("alone") or [] if 0 <= run["case"] < len(ctx.cases)]


def check_rewards_detached(ctx: Context) -> CheckResult:
    """No detached output carries a graph: with every input requiring grad, nor with any one alone."""
    spec = ctx.spec
    for i, run, how in [(i, run, "") for i, run in enumerate(ctx.runs)] + _alone_runs(ctx):
        if run["error"] or ctx.runs[i]["error"]:
            continue
        for name in spec.detached:
            t = run["types"][spec.outputs.index(name)]
            if t["tensor"] and (t["requires_grad"] or t["grad_fn"]):
                # the catalogued mistake about this output ("rewards not detached" for chosen_rewards), if any:
                # kto's kl carrying a graph is not its rewards'
                at = [m for m in ctx.mistakes if m.check == "rewards_detached"]
                mistake = next((m for m in at if m.name.split()[0] in name), None)
                return fail("rewards_detached", f"case {ctx.cases[i].describe()}{how}: '{name}' carries an autograd "
                            f"graph (requires_grad=True)." + named(mistake), mistake)
    if all(r["error"] for r in ctx.runs):
        return all_errored("rewards_detached", ctx)
    return CheckResult("rewards_detached", "pass", f"{', '.join(spec.detached)} carry no graph")


def check_constants_detached(ctx: Context) -> CheckResult:
    spec = ctx.spec
    checked = 0
    for i in smallest_first(list(range(len(ctx.cases))), ctx.cases):
        run, case = ctx.runs[i], ctx.cases[i]
        if run["error"] or run["backward_error"]:
            continue
        checked += 1
        for name in spec.constants:
            grad = run["grads"].get(name)
            if grad is not None and bool((grad != 0).any()):
                mistake = mistake_at(ctx, "constants_detached", name)
                moved = int((grad != 0).sum())
                return fail("constants_detached",
                            f"case {case.describe()}: a gradient reaches '{name}' ({moved} of {grad.numel()} elements "
                            f"nonzero), which is a constant of the objective. Detach it (`{name}.detach()`) before "
                            "using it: with a graph through it, the loss's gradient is not the contract's."
                            + named(mistake), mistake)
    for i, run, how in _alone_runs(ctx):
        name = run["input"]
        grad = run["grads"].get(name) if name in spec.constants and not run["error"] else None
        if grad is not None and bool((grad != 0).any()):
            return fail("constants_detached", f"case {ctx.cases[i].describe()}{how}: a gradient reaches '{name}', "
                        "a constant of the objective (with every input requiring grad none does: the code detaches "
                        f"it only when another input carries a graph). Detach it (`{name}.detach()`) always.")
    if not checked:
        return all_errored("constants_detached", ctx) if any(r["error"] for r in ctx.runs) else \
            CheckResult("constants_detached", "skip", "no backward pass completed (see the gradients check)")
    return CheckResult("constants_detached", "pass", f"no gradient reaches {', '.join(spec.constants)} "
                       f"on {checked} cases")


def check_bad_input(ctx: Context) -> CheckResult:
    probes = ctx.cand.get("bad_inputs") or []
    if not probes:
        return CheckResult("bad_input", "skip", "no rejected inputs in this kata's contract")
    for p in probes:
        said = p.get("message") if isinstance(p.get("message"), str) else ""
        if p.get("value_error") and said.strip():
            continue
        mistake = None if p.get("value_error") else mistake_at(ctx, "bad_input")  # rejected, but silently
        got = "returned a result without raising" if p.get("raised") is None else \
            f"raised {p['raised']} with no message" if not said.strip() else \
            f"raised {p['raised']} ({said.strip().splitlines()[0][:120]})"
        return fail("bad_input", f"input '{p['case']}' should raise ValueError with a message saying what is wrong; "
                    f"it {got}." + named(mistake), mistake)
    left = next((p for p in probes if isinstance(p.get("left"), str)), None)
    if left is not None:
        return fail("bad_input", f"input '{left['case']}': the call {left['left'][:200]} and did not put it back "
                    "when it raised. Restore what you change in a `finally:` block (or a `with` block), so the "
                    "error path leaves the caller's state as the normal path does.")
    return CheckResult("bad_input", "pass", f"all {len(probes)} rejected inputs raise ValueError: "
                       + ", ".join(p["case"] for p in probes))


def check_keeps_graph(ctx: Context) -> CheckResult:
    """Every graph output has a grad_fn on every case, wherever some input it is differentiated
    in requires grad: with every input requiring grad, with only the trained ones (the
    constants frozen, as in training) and with each grad input alone."""
    spec = ctx.spec
    trained = trained_inputs(spec)
    calls = [(i, run, spec.grad_inputs, "") for i, run in enumerate(ctx.runs)]
    calls += [(i, run, trained, f", with only {', '.join(trained)} requiring grad (as in training)")
              for i, run in enumerate(ctx.cand.get("trained") or [])]
    alone = [(i, run, (run["input"],), how) for i, run, how in _alone_runs(ctx) if run["input"] in spec.grad_inputs]
    for name in spec.graph_outputs:
        j = spec.outputs.index(name)
        # One input alone need not reach every output (ppo's value_loss is the values' alone): the
        # reference's gradients say which inputs reach the graph output, not the others.
        for i, run, requiring, how in calls + (alone if name == spec.graph_output else []):
            if run["error"] or ctx.runs[i]["error"] or j >= len(run["types"]):
                continue
            t = run["types"][j]
            if t["tensor"] and not t["grad_fn"] and not all(constant_in(ctx.ref_runs[i], g) for g in requiring):
                return fail("keeps_graph", f"case {ctx.cases[i].describe()}{how}: '{name}' is not connected to the "
                            "inputs' graph (grad_fn is None). Something on the way cut it: .item(), .detach(), "
                            "torch.tensor(...) around a result, or a NumPy round trip.")
    if all(r["error"] for r in ctx.runs):
        return all_errored("keeps_graph", ctx)
    names = ", ".join(f"'{n}'" for n in spec.graph_outputs)
    return CheckResult("keeps_graph", "pass", f"{names} {'has' if len(spec.graph_outputs) == 1 else 'have'} a grad_fn "
                       "on every case")


def check_row_independence(ctx: Context) -> CheckResult:
    spec = ctx.spec
    i = spec.row_case
    case, run, rows = ctx.cases[i], ctx.runs[i], ctx.cand["rows"]
    if run["error"]:
        return errored("row_independence", f"case {case.describe()} {error_text(run['error'])}", run["error"])
    if "error" in rows:
        return errored("row_independence", f"graded one row at a time, the function {error_text(rows['error'])}",
                       rows["error"])
    combine = spec.combine_rows or spec.default_combine
    try:
        expected = combine(rows["outputs"], case)
    except Exception as exc:  # rows of the wrong shape or type
        return fail("row_independence", f"row-by-row outputs cannot be combined ({type(exc).__name__}: {exc}); see output_types")
    for name, got, want in zip(spec.outputs, run["outputs"], expected):
        cmp = compare(got, want, case.scale)
        if not cmp.ok:
            return fail("row_independence", f"case {case.describe()}: graded as a batch vs one row at a time, "
                        + cmp.explain(f"'{name}'") + ". Rows influence each other: a normaliser or a reduction taken over "
                        "the whole batch (e.g. dividing by the batch's total token count) instead of per row.")
    return CheckResult("row_independence", "pass", f"batch of {len(rows['outputs'])} rows equals its rows graded one by one")


def check_cuda_agreement(ctx: Context) -> CheckResult:
    cuda = ctx.cand["cuda"]
    if "skip" in cuda:
        return CheckResult("cuda_agreement", "skip", cuda["skip"])
    spec = ctx.spec
    for key, crun in cuda["runs"].items():
        i = int(key)
        case, cpu = ctx.cases[i], ctx.runs[i]
        if crun["error"]:
            return errored("cuda_agreement", f"on CUDA, case {case.describe()} {error_text(crun['error'])}", crun["error"])
        if cpu["error"]:
            continue
        for name, got, want in zip(spec.outputs, crun["outputs"], cpu["outputs"]):
            if isinstance(want, torch.Tensor):
                cmp = compare(got, want, case.scale)
                if not cmp.ok:
                    return fail("cuda_agreement", f"case {case.describe()}: CUDA vs CPU, " + cmp.explain(f"'{name}'") + ".")
        for name, want in cpu["grads"].items():
            got = crun["grads"].get(name)
            if want is not None and got is not None and not compare(got, want, case.scale).ok:
                return fail("cuda_agreement", f"case {case.describe()}: CUDA vs CPU, " + compare(got, want, case.scale).explain(f"d/d {name}") + ".")
    return CheckResult("cuda_agreement", "pass", f"{len(cuda['runs'])} cases agree on {cuda['device']} and the CPU")


def check_device_hygiene(ctx: Context) -> CheckResult:
    meta = ctx.cand["meta"]
    if meta["status"] == "ok":
        return CheckResult("device_hygiene", "pass", "runs on 'meta' tensors: no tensor is pinned to a fixed device", advisory=True)
    if meta["status"] == "not_applicable":
        return CheckResult("device_hygiene", "skip", f"not applicable: the code cannot run on 'meta' tensors "
                           f"(data-dependent shapes or values; {meta['detail']})", advisory=True)
    return CheckResult("device_hygiene", "fail", f"a tensor is created on a fixed device: {meta['detail']}. Pass "
                       "device=x.device (or use torch.zeros_like / x.new_zeros) so the code also runs on GPU.", advisory=True)


def check_behaviour(ctx: Context) -> CheckResult:
    beh = ctx.cand.get("behaviour")
    if beh is None or ctx.spec.behaviour is None:
        return CheckResult("behaviour", "skip", "no behaviour run for this kata")
    if "error" in beh:
        return errored("behaviour", f"training the toy policy with your function, it {error_text(beh['error'])}",
                       beh["error"])
    return ctx.spec.behaviour.judge(beh["data"])
