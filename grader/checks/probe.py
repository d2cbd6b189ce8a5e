"""The child side of a function kata: call the submission on every case and report plain data.

Everything here runs in the sandboxed child, next to the submission's code, so nothing here
decides anything: it collects outputs, gradients, types, what the inputs look like after the
call, and raised errors, as plain tensors and plain data. One call and its gradients is
grader.checks.runs (`run_case` also computes the reference's runs in the grader); the calls
made as training makes them are grader.checks.as_trained.

`spec` below is any object with the fields of `grader.checks.function.FunctionSpec`; this
module does not import that one (which imports this one).
"""
from __future__ import annotations

import inspect
import sys
import types
from contextlib import contextmanager
from typing import Any, Callable

import torch

from grader.checks.as_trained import (DECOY_MAX_ELEMENTS, probe_alone, probe_default_float64,  # noqa: F401
                                      probe_interleaved, probe_no_grad, probe_trained, trained_inputs)
from grader.checks import torch_state
from grader.checks.cases import Case
# Re-exported: the grader side and tests import these names from here.
from grader.checks.runs import (LOSS_UPSTREAM, _same, as_outputs, call, describe_error, describe_type,  # noqa: F401
                                has_custom_backward, is_batched, kept_alive, run_case)
from grader.core.tolerances import GRADCHECK, GRADCHECK_FLOAT32


def probe_function(spec: Any, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
    """Run the submission on every case; return plain tensors and plain data only. Every input
    it is handed stays alive until the end (grader.checks.runs.kept_alive)."""
    with kept_alive():
        return _probe_function(spec, module, cases, seed, cuda)


def _probe_function(spec: Any, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
    fn = getattr(module, spec.function, None)
    if fn is None or not callable(fn):
        return {"fatal": {"kind": "missing", "message": f"defines no function '{spec.function}'"}}
    result: dict[str, Any] = {"signature": signature_of(fn)}
    own = torch_state.snapshot()  # the child's settings, put back after each probe (see below)
    baseline = torch_state.as_in_training()  # taken before the first call: see probe_no_grad
    runs = []
    for i, case in enumerate(cases):
        run = run_case(spec, fn, case)
        if i == 0 and run["error"] and run["error"]["not_implemented"]:
            return {"fatal": {"kind": "not_started", "message": run["error"]["message"]}}
        runs.append(run)
    result["runs"] = runs
    probes: list[tuple[str, Callable[[], Any]]] = [
        ("rows", lambda: probe_rows(spec, fn, cases[spec.row_case])),
        ("no_grad", lambda: probe_no_grad(spec, fn, cases, baseline)),
        ("trained", lambda: probe_trained(spec, fn, cases)),
        ("alone", lambda: probe_alone(spec, fn, cases, runs)),
        ("interleaved", lambda: probe_interleaved(spec, fn, cases)),
        ("default_float64", lambda: probe_default_float64(spec, fn, cases)),
        ("meta", lambda: probe_meta(spec, fn, cases[0])),
        ("cuda", lambda: probe_cuda(spec, fn, cases, cuda)),
        ("gradcheck", lambda: probe_gradcheck(spec, fn, cases, runs))]
    if spec.bad_inputs is not None:
        probes.append(("bad_inputs", lambda: probe_bad_inputs(spec, fn, spec.bad_inputs(seed))))
    for key, probe in probes:
        # A setting the function left changed (judged in the calls of probe_no_grad and
        # probe_bad_inputs) must not reach the next probe, nor the child's own code: a default
        # device left at 'meta' by the meta probe broke the child's writing of the results.
        torch_state.restore(own)
        result[key] = probe()
    torch_state.restore(own)
    if spec.behaviour is not None:
        try:
            result["behaviour"] = {"data": spec.behaviour.run(fn, seed)}
        except Exception as exc:  # the submission failed during training
            result["behaviour"] = {"error": describe_error(exc)}
        torch_state.restore(own)
    return result


def probe_rows(spec: Any, fn: Callable, case: Case) -> dict[str, Any]:
    batch = next(iter(case.inputs.values())).shape[0]
    rows = []
    changed: set[str] = set()  # inputs the call modified in place: here none carries a graph, as in training
    try:
        for b in range(batch):
            inputs = {k: v[b:b + 1].clone() for k, v in case.inputs.items()}
            options = {k: (v[b:b + 1].clone() if is_batched(v, batch) else v) for k, v in case.options.items()}
            with torch.no_grad():
                out = as_outputs(spec, call(fn, case, inputs, options))
            rows.append([o.detach().clone() if isinstance(o, torch.Tensor) else None for o in out])
            given = {**case.inputs, **{k: v for k, v in case.options.items() if is_batched(v, batch)}}
            now = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
            changed.update(k for k, v in given.items() if k in now and not _same(now[k], v[b:b + 1]))
    except Exception as exc:
        return {"error": describe_error(exc)}
    return {"outputs": rows, "inputs_changed": sorted(changed)}


def signature_of(fn: Callable) -> list[dict[str, Any]] | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    out = []
    for p in params:
        default = None if p.default is inspect.Parameter.empty else p.default
        out.append({"name": p.name, "kind": p.kind.name, "has_default": p.default is not inspect.Parameter.empty,
                    "default": default if isinstance(default, (int, float, bool, str, type(None))) else repr(default)})
    return out


@contextmanager
def _dynamo_stand_in() -> Any:
    """Skip a 1.3 s import that meta tensors would otherwise trigger.

    torch's Python meta kernels are wrapped by `torch._compile._disable_dynamo`, which on
    first call imports all of `torch._dynamo` only to mark them "never compile". Nothing is
    compiled in the child, so a stand-in whose `disable` returns the function unchanged
    behaves the same. Used only while torch._dynamo is not loaded; `probe_meta` retries
    with the real module if the stand-in is ever not enough.
    """
    if "torch._dynamo" in sys.modules:
        yield
        return
    stand_in = types.ModuleType("torch._dynamo")
    stand_in.disable = lambda fn, recursive=True, wrapping=True: fn  # type: ignore[attr-defined]
    sys.modules["torch._dynamo"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("torch._dynamo") is stand_in:
            del sys.modules["torch._dynamo"]
        if vars(torch).get("_dynamo") is stand_in:  # getattr would import the real one
            delattr(torch, "_dynamo")


def probe_meta(spec: Any, fn: Callable, case: Case) -> dict[str, Any]:
    """Call on 'meta' tensors: a tensor made on a fixed device shows up as a device clash. A
    setting the call leaves changed is reported (`left`): torch.set_default_device(x.device)
    shows only here, where x is not on the CPU, as it shows on a GPU in training."""
    before = torch_state.snapshot()
    with _dynamo_stand_in():
        result = _probe_meta(spec, fn, case)
    if result["status"] == "not_applicable" and "AttributeError" in result["detail"] and "_dynamo" in result["detail"]:
        result = _probe_meta(spec, fn, case)
    left = torch_state.restore(before)
    return {**result, "left": left} if left else result


def _probe_meta(spec: Any, fn: Callable, case: Case) -> dict[str, Any]:
    inputs = {k: torch.empty(v.shape, dtype=v.dtype, device="meta") for k, v in case.inputs.items()}
    options = {k: (torch.empty(v.shape, dtype=v.dtype, device="meta") if isinstance(v, torch.Tensor) else v)
               for k, v in case.options.items()}
    try:
        outs = as_outputs(spec, call(fn, case, inputs, options))
    except Exception as exc:
        err = describe_error(exc)
        text = err["message"]
        if "expected device" in text or "same device" in text or ("device" in text and "meta" in text and "cpu" in text):
            return {"status": "fixed_device", "detail": f"{text.splitlines()[0]} (at {err['where']})"}
        return {"status": "not_applicable", "detail": f"{err['type']}: {text.splitlines()[0] if text else ''}"}
    for name, o in zip(spec.outputs, outs):
        if isinstance(o, torch.Tensor) and o.device.type != "meta":
            return {"status": "fixed_device", "detail": f"'{name}' came back on {o.device.type}, not on the inputs' device"}
    return {"status": "ok", "detail": ""}


def probe_cuda(spec: Any, fn: Callable, cases: list[Case], cuda: str) -> dict[str, Any]:
    if cuda == "off":
        return {"skip": "not requested (--device cpu)"}
    if not torch.cuda.is_available():
        return {"skip": "CUDA is not available on this machine (torch.cuda.is_available() is False)"}
    runs = {}
    for i, case in enumerate(cases):
        if not case.extreme:
            run = run_case(spec, fn, case, device="cuda")
            runs[i] = {"outputs": run["outputs"], "grads": run["grads"], "error": run["error"]}
    return {"device": torch.cuda.get_device_name(0), "runs": runs}


def probe_bad_inputs(spec: Any, fn: Callable, cases: list[Case]) -> list[dict[str, Any]]:
    """Call `fn` on each input the contract rejects; record what it raised (or that it returned),
    and what it left changed of torch's settings (torch_state): the error path must put them
    back too (a default dtype set at the start and restored only on success)."""
    out = []
    for case in cases:
        before = torch_state.snapshot()
        try:
            with torch.no_grad():
                call(fn, case)
            out.append({"case": case.name, "raised": None})
        except Exception as exc:
            err = describe_error(exc)
            out.append({"case": case.name, "raised": err["type"], "message": err["message"][:300],
                        "value_error": isinstance(exc, ValueError)})
        left = torch_state.restore(before)
        if left:
            out[-1]["left"] = left
    return out


def probe_gradcheck(spec: Any, fn: Callable, cases: list[Case], runs: list[dict]) -> dict[str, Any]:
    """torch.autograd.gradcheck of a hand-written backward, at float64's tolerances and, when those
    fail, at float32's (GRADCHECK_FLOAT32): finite differences of code that rounds to float32
    inside are off by about float32's resolution / eps although its backward is exact. The
    grader decides which applies (grader.checks.numeric.check_gradcheck)."""
    if not any(r.get("custom_backward") for r in runs):
        return {"ran": False}
    case = next((c for c in cases if c.dtype == torch.float64 and not c.extreme and not c.layout), None)
    if case is None:
        return {"ran": False}
    leaves = [case.inputs[n].detach().clone().requires_grad_(True) for n in spec.grad_inputs]

    def f(*xs: torch.Tensor) -> torch.Tensor:
        inputs = dict(case.inputs)
        inputs.update(zip(spec.grad_inputs, xs))
        outs = as_outputs(spec, call(fn, case, inputs))
        return outs[spec.outputs.index(spec.graph_output)]

    out: dict[str, Any] = {"ran": True, "case": case.name}
    for key, tolerances in (("ok", GRADCHECK), ("ok_float32", GRADCHECK_FLOAT32)):
        try:
            torch.autograd.gradcheck(f, leaves, **tolerances)
            out[key] = True
            return out
        except Exception as exc:
            out[key] = False
            out.setdefault("message", str(exc).strip().splitlines()[0][:500])
    return out
