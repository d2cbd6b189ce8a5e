"""What a function kata is, and how its submission is exercised.

A kata's spec (`grader.catalog.NAME.spec.SPEC`) is any object with `make_cases(seed)`,
`probe(module, cases, seed, cuda)` (child side) and `judge(reference_module, cases,
child_result, kata)` (grader side); `FunctionSpec` is the one every function kata uses.

`FunctionSpec` describes one function: its parameters, outputs, which inputs carry
gradients, which masks zero them, the seeded input cases, the catalogued mistakes and
the behaviour run. `probe` runs in the sandboxed child: it calls the submission and
collects plain tensors and plain data. Nothing in `probe` decides anything; the verdict
is computed by `grader.checks.judge` in the grader's own process.
"""
from __future__ import annotations

import inspect
import sys
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch

from grader.checks.cases import Case
from grader.core.tolerances import GRADCHECK

REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    name: str
    default: Any = REQUIRED

    def render(self) -> str:
        return self.name if self.default is REQUIRED else f"{self.name}={self.default!r}"


class Behaviour(Protocol):
    def run(self, fn: Callable, seed: int) -> dict[str, Any]: ...  # in the child, with the submission
    def judge(self, data: dict[str, Any]) -> Any: ...  # in the grader, returns a CheckResult


@dataclass
class FunctionSpec:
    function: str
    params: tuple[Param, ...]
    outputs: tuple[str, ...]  # one name: a bare tensor is returned; several: a tuple
    grad_inputs: tuple[str, ...]
    make_cases: Callable[[int], list[Case]]
    loss: str | None = None  # the 0-dim output to differentiate; None: outputs[0] against `upstream`
    # grad input -> its mask input, or a function of the case giving, for a grad input that is
    # not aligned with any mask, a bool tensor broadcastable to it: True where gradient may flow.
    masks: dict[str, str | Callable[[Case], torch.Tensor]] = field(default_factory=dict)
    detached: tuple[str, ...] = ()
    # Inputs that are constants of the objective (old log-probs, advantages, returns): passed
    # with requires_grad so that `constants_detached` can verify that no gradient reaches them.
    constants: tuple[str, ...] = ()
    # Inputs a case may leave out of `inputs` (an optional tensor argument): `call` then passes
    # None in its place, and the checks never see it (e.g. grpo's ref_logps when beta == 0).
    optional: tuple[str, ...] = ()
    # Calls the contract rejects: each case must raise ValueError (the `bad_input` check).
    bad_inputs: Callable[[int], list[Case]] | None = None
    # Catalogued mistake name -> the wrong computation, same arguments as the function,
    # returning the outputs it gets wrong by name (or a list of such dicts: the common
    # ways of writing the same mistake). Mistakes without a model are named by their check.
    models: dict[str, Callable[..., Any]] = field(default_factory=dict)
    behaviour: Behaviour | None = None
    row_case: int = 0  # index of the case graded row by row
    combine_rows: Callable[[list[list[torch.Tensor]], Case], list[torch.Tensor]] | None = None

    @property
    def graph_output(self) -> str:
        return self.loss or self.outputs[0]

    def masked_positions(self, case: Case, grad_input: str) -> torch.Tensor:
        """True where d graph_output / d grad_input must be exactly 0; shaped like that input."""
        mask = self.masks[grad_input]
        counted = case.inputs[mask].bool() if isinstance(mask, str) else mask(case)
        return (~counted).expand(case.inputs[grad_input].shape)

    def call(self, fn: Callable, case: Case, inputs: dict[str, Any] | None = None,
             options: dict[str, Any] | None = None) -> Any:
        inputs = case.inputs if inputs is None else inputs
        options = case.options if options is None else options
        if self.optional:  # positional in the contract's order, None for an optional input left out
            names = [p.name for p in self.params if p.name in inputs or p.name in self.optional]
            return fn(*(inputs.get(n) for n in names), **options)
        return fn(*inputs.values(), **options)

    def default_combine(self, rows: list[list[torch.Tensor]], case: Case) -> list[torch.Tensor]:
        """What the batch outputs must be, given the outputs of each row graded alone."""
        combined = []
        for j, name in enumerate(self.outputs):
            parts = [r[j] for r in rows]
            combined.append(torch.stack(parts).mean(0) if name == self.loss else torch.cat(parts, 0))
        return combined

    # ------------------------------------------------------------------ grader side
    def expected(self, reference: Any, cases: list[Case]) -> list[dict[str, Any]]:
        """The reference module's runs on `cases`: computed once per kata and seed, shared by every
        submission judged against them (a cohort of workspaces pays for it once)."""
        from grader.checks.judge import reference_runs

        return reference_runs(self, getattr(reference, self.function), cases)

    def judge(self, reference: Any, cases: list[Case], cand: dict[str, Any], kata: Any,
              expected: list[dict[str, Any]] | None = None) -> list[Any]:
        """Every check of `kata`, in its order, comparing the child's results with `reference`'s
        (`expected`: the reference's runs from `self.expected`, computed here when absent)."""
        from grader.checks.judge import Context, judge

        ctx = Context(self, cases, getattr(reference, self.function), cand, kata.mistakes, f"kata hint {kata.name}",
                      expected)
        return judge(ctx, kata.check_names)

    # ------------------------------------------------------------------ child side
    def probe(self, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
        """Run the submission on every case; return plain tensors and plain data only."""
        fn = getattr(module, self.function, None)
        if fn is None or not callable(fn):
            return {"fatal": {"kind": "missing", "message": f"defines no function '{self.function}'"}}
        result: dict[str, Any] = {"signature": signature_of(fn)}
        runs = []
        for i, case in enumerate(cases):
            run = run_case(self, fn, case)
            if i == 0 and run["error"] and run["error"]["not_implemented"]:
                return {"fatal": {"kind": "not_started", "message": run["error"]["message"]}}
            runs.append(run)
        result["runs"] = runs
        result["rows"] = self.probe_rows(fn, cases[self.row_case])
        result["meta"] = probe_meta(self, fn, cases[0])
        result["cuda"] = probe_cuda(self, fn, cases, cuda)
        result["gradcheck"] = probe_gradcheck(self, fn, cases, runs)
        if self.bad_inputs is not None:
            result["bad_inputs"] = probe_bad_inputs(self, fn, self.bad_inputs(seed))
        if self.behaviour is not None:
            try:
                result["behaviour"] = {"data": self.behaviour.run(fn, seed)}
            except Exception as exc:  # the submission failed during training
                result["behaviour"] = {"error": describe_error(exc)}
        return result

    def probe_rows(self, fn: Callable, case: Case) -> dict[str, Any]:
        batch = next(iter(case.inputs.values())).shape[0]
        rows = []
        try:
            for b in range(batch):
                inputs = {k: v[b:b + 1].clone() for k, v in case.inputs.items()}
                options = {k: (v[b:b + 1].clone() if is_batched(v, batch) else v) for k, v in case.options.items()}
                with torch.no_grad():
                    out = as_outputs(self, self.call(fn, case, inputs, options))
                rows.append([o.detach().clone() if isinstance(o, torch.Tensor) else None for o in out])
        except Exception as exc:
            return {"error": describe_error(exc)}
        return {"outputs": rows}


def is_batched(value: Any, batch: int) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == batch


def as_outputs(spec: FunctionSpec, out: Any) -> list[Any]:
    """The submission's return value as a list aligned with `spec.outputs` (None where absent)."""
    if len(spec.outputs) == 1:
        return [out]
    if isinstance(out, (tuple, list)):
        items = list(out)[: len(spec.outputs)]
        return items + [None] * (len(spec.outputs) - len(items))
    return [out] + [None] * (len(spec.outputs) - 1)


def describe_type(value: Any) -> dict[str, Any]:
    if not isinstance(value, torch.Tensor):
        return {"tensor": False, "type": type(value).__name__}
    return {"tensor": True, "type": type(value).__name__, "shape": list(value.shape),
            "dtype": str(value.dtype).replace("torch.", ""), "requires_grad": bool(value.requires_grad),
            "grad_fn": value.grad_fn is not None, "device": value.device.type}


def describe_error(exc: BaseException) -> dict[str, Any]:
    """Type, message and the submission's own line that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/grader/" not in f.filename.replace("\\", "/") and "/torch/" not in f.filename]
    frame = own[-1] if own else (frames[-1] if frames else None)
    where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}" if frame else ""
    return {"type": type(exc).__name__, "message": str(exc).strip()[:2000], "where": where,
            "not_implemented": isinstance(exc, NotImplementedError)}


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


def has_custom_backward(root: Any, limit: int = 10_000) -> bool:
    """True when the graph contains a node from a user-defined autograd.Function."""
    seen, stack = set(), [root]
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            return True
        stack.extend(n for n, _ in getattr(node, "next_functions", ()))
    return False


def run_case(spec: FunctionSpec, fn: Callable, case: Case, device: str = "cpu") -> dict[str, Any]:
    """Call `fn` once on `case` and differentiate; used for the submission and the reference alike."""
    inputs = {k: v.detach().clone().to(device) for k, v in case.inputs.items()}
    options = {k: (v.clone().to(device) if isinstance(v, torch.Tensor) else v) for k, v in case.options.items()}
    names = tuple(n for n in spec.grad_inputs + spec.constants if n in inputs)  # an optional one may be absent
    for name in names:
        inputs[name].requires_grad_(True)
    run: dict[str, Any] = {"error": None, "outputs": [], "types": [], "grads": {}, "backward_error": None,
                           "custom_backward": False, "inputs_after": {}}
    try:
        try:
            raw = spec.call(fn, case, inputs, options)
        except Exception as exc:
            run["error"] = describe_error(exc)
            return run
        outs = as_outputs(spec, raw)
        run["types"] = [describe_type(o) for o in outs]
        if len(spec.outputs) > 1:
            # A tuple or list subclass (a namedtuple, torch.return_types) unpacks like one.
            run["container"] = "tuple" if isinstance(raw, tuple) else "list" if isinstance(raw, list) \
                else type(raw).__name__
        run["outputs"] = [o.detach().to("cpu").clone() if isinstance(o, torch.Tensor) else None for o in outs]
        target = outs[spec.outputs.index(spec.graph_output)]
        try:
            if not isinstance(target, torch.Tensor):
                raise TypeError(f"'{spec.graph_output}' is not a tensor")
            run["custom_backward"] = has_custom_backward(target.grad_fn)
            if spec.loss is None:
                upstream = case.upstream.to(device=target.device, dtype=target.dtype)
                target = (target * upstream).sum()
            leaves = [inputs[n] for n in names]
            # A result with no graph reaches no input (None, as allow_unused gives): the judge
            # accepts that where the reference's gradient is all zero (e.g. no token counts).
            grads = torch.autograd.grad(target, leaves, allow_unused=True) if target.requires_grad \
                else [None] * len(leaves)
            run["grads"] = {n: (g.detach().to("cpu").clone() if g is not None else None)
                            for n, g in zip(names, grads)}
        except Exception as exc:
            run["backward_error"] = describe_error(exc)
        return run
    finally:
        run["inputs_after"] = {k: v.detach().to("cpu").clone() for k, v in inputs.items()}


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


def probe_meta(spec: FunctionSpec, fn: Callable, case: Case) -> dict[str, Any]:
    """Call on 'meta' tensors: a tensor made on a fixed device shows up as a device clash."""
    with _dynamo_stand_in():
        result = _probe_meta(spec, fn, case)
    if result["status"] == "not_applicable" and "AttributeError" in result["detail"] and "_dynamo" in result["detail"]:
        result = _probe_meta(spec, fn, case)
    return result


def _probe_meta(spec: FunctionSpec, fn: Callable, case: Case) -> dict[str, Any]:
    inputs = {k: torch.empty(v.shape, dtype=v.dtype, device="meta") for k, v in case.inputs.items()}
    options = {k: (torch.empty(v.shape, dtype=v.dtype, device="meta") if isinstance(v, torch.Tensor) else v)
               for k, v in case.options.items()}
    try:
        outs = as_outputs(spec, spec.call(fn, case, inputs, options))
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


def probe_cuda(spec: FunctionSpec, fn: Callable, cases: list[Case], cuda: str) -> dict[str, Any]:
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


def probe_bad_inputs(spec: FunctionSpec, fn: Callable, cases: list[Case]) -> list[dict[str, Any]]:
    """Call `fn` on each input the contract rejects; record what it raised (or that it returned)."""
    out = []
    for case in cases:
        try:
            with torch.no_grad():
                spec.call(fn, case)
            out.append({"case": case.name, "raised": None})
        except Exception as exc:
            err = describe_error(exc)
            out.append({"case": case.name, "raised": err["type"], "message": err["message"][:300],
                        "value_error": isinstance(exc, ValueError)})
    return out


def probe_gradcheck(spec: FunctionSpec, fn: Callable, cases: list[Case], runs: list[dict]) -> dict[str, Any]:
    if not any(r.get("custom_backward") for r in runs):
        return {"ran": False}
    case = next((c for c in cases if c.dtype == torch.float64 and not c.extreme), None)
    if case is None:
        return {"ran": False}
    leaves = [case.inputs[n].detach().clone().requires_grad_(True) for n in spec.grad_inputs]

    def f(*xs: torch.Tensor) -> torch.Tensor:
        inputs = dict(case.inputs)
        inputs.update(zip(spec.grad_inputs, xs))
        outs = as_outputs(spec, spec.call(fn, case, inputs))
        return outs[spec.outputs.index(spec.graph_output)]

    try:
        torch.autograd.gradcheck(f, leaves, **GRADCHECK)
        return {"ran": True, "ok": True, "case": case.name}
    except Exception as exc:
        return {"ran": True, "ok": False, "case": case.name, "message": str(exc).strip().splitlines()[0][:500]}
