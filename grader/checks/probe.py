"""The child side of a function kata: call the submission on every case and report plain data.

Everything here runs in the sandboxed child, next to the submission's code, so nothing here
decides anything: it collects outputs, gradients, types, what the inputs look like after the
call, and raised errors, as plain tensors and plain data. `run_case` also computes the
reference's runs in the grader, so both sides are measured the same way.

`spec` below is any object with the fields of `grader.checks.function.FunctionSpec`; this
module does not import that one (which imports this one).
"""
from __future__ import annotations

import inspect
import sys
import traceback
import types
from contextlib import contextmanager
from typing import Any, Callable

import torch

from grader.checks.cases import LAYOUTS, Case, laid_out
from grader.core import frames
from grader.core.tolerances import GRADCHECK, GRADCHECK_FLOAT32


LOSS_UPSTREAM = 2.0 ** 16  # the gradient a loss's backward receives (fp16 loss scaling's): see run_case
DECOY_MAX_ELEMENTS = 1024  # the largest input a decoy call is made with before the real call: see _decoy
DECOY_AFTER_MAX_ELEMENTS = 256  # and after it


def probe_function(spec: Any, module: Any, cases: list[Case], seed: int, cuda: str) -> dict[str, Any]:
    """Run the submission on every case; return plain tensors and plain data only."""
    fn = getattr(module, spec.function, None)
    if fn is None or not callable(fn):
        return {"fatal": {"kind": "missing", "message": f"defines no function '{spec.function}'"}}
    result: dict[str, Any] = {"signature": signature_of(fn)}
    runs = []
    for i, case in enumerate(cases):
        run = run_case(spec, fn, case)
        if i == 0 and run["error"] and run["error"]["not_implemented"]:
            return {"fatal": {"kind": "not_started", "message": run["error"]["message"]}}
        runs.append(run)
    result["runs"] = runs
    result["rows"] = probe_rows(spec, fn, cases[spec.row_case])
    result["no_grad"] = probe_no_grad(spec, fn, cases)
    result["trained"] = probe_trained(spec, fn, cases)
    result["interleaved"] = probe_interleaved(spec, fn, cases)
    result["default_float64"] = probe_default_float64(spec, fn, cases)
    result["meta"] = probe_meta(spec, fn, cases[0])
    result["cuda"] = probe_cuda(spec, fn, cases, cuda)
    result["gradcheck"] = probe_gradcheck(spec, fn, cases, runs)
    if spec.bad_inputs is not None:
        result["bad_inputs"] = probe_bad_inputs(spec, fn, spec.bad_inputs(seed))
    if spec.behaviour is not None:
        try:
            result["behaviour"] = {"data": spec.behaviour.run(fn, seed)}
        except Exception as exc:  # the submission failed during training
            result["behaviour"] = {"error": describe_error(exc)}
    return result


def call(fn: Callable, case: Case, inputs: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
         params: Any = None) -> Any:
    """`fn` called as the contract says: inputs positionally, in order (None where the case leaves
    an optional input out); options as keywords, or with `params` (the spec's parameters, in
    order) by position, defaults filling the options the case leaves out, as far as they go."""
    inputs = case.inputs if inputs is None else inputs
    options = dict(case.options if options is None else options)
    args = list(inputs.values())
    for at in sorted(case.absent.values()):
        args.insert(at, None)
    for p in (params or ())[len(args):]:
        if p.name in options:
            args.append(options.pop(p.name))
        elif p.default is not inspect.Parameter.empty:
            args.append(p.default)
        else:
            break
    return fn(*args, **options)


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


def probe_no_grad(spec: Any, fn: Callable, cases: list[Case]) -> dict[str, Any]:
    """Each case called as training calls it when nothing needs a gradient (rewards, values, a
    frozen model's log-probs): inputs without a graph. Even cases are called under
    torch.no_grad; odd ones with gradient recording on (an evaluation step without no_grad) and
    their options passed by position (a wrapper that forwards keywords only shows there).
    Reports per case the outputs and their types (judged like the graded run's: code may take
    another path when nothing needs a gradient), the first case where the call modified inputs
    in place, and which (with requires_grad an in-place change raises, so only these calls
    show one), the first output a later call changed (a buffer the function keeps and writes
    again), and the first call that changed torch's global state for its caller (grad mode,
    default dtype, the random generator).

    Each case up to DECOY_MAX_ELEMENTS is also called with a decoy: the same input tensors
    holding other values (`_decoy_values`), then refilled with the case's own in place. Before
    the real call: code that keeps results keyed by the tensors' identity (id(), data_ptr())
    gives the decoy's back. After it, on cases up to DECOY_AFTER_MAX_ELEMENTS (each case has
    shapes of its own): an output kept in a buffer per shape is overwritten by the decoy's."""
    runs: list[dict[str, Any]] = []
    kept: list[tuple[int, list[Any], list[Any]]] = []  # case, outputs as returned, copies made at once
    changed_at: dict[str, Any] = {"inputs_changed": []}
    state: dict[str, Any] | None = None  # the first call that changed torch's global state for its caller
    rng = torch.get_rng_state()  # put back at the end: later probes draw what they drew before
    for i, case in enumerate(cases):
        inputs = {k: laid_out(case, k, v.detach().clone()) for k, v in case.inputs.items()}
        options = {k: (laid_out(case, k, v.detach().clone()) if isinstance(v, torch.Tensor) else v)
                   for k, v in case.options.items()}
        recording = i % 2 == 1

        def decoy(largest: int = DECOY_MAX_ELEMENTS) -> None:
            _decoy(fn, case, inputs, options, largest)

        def real() -> list[Any]:
            return as_outputs(spec, call(fn, case, inputs, options, spec.params if recording else None))

        state = state or _state_kept(i, decoy, True)[0]
        run: dict[str, Any] = {"error": None, "outputs": [], "types": [], "recording": recording}
        found, outs, error = _state_kept(i, real, recording)
        state = state or found
        if error is not None:  # a valid input: judged like the graded run's error
            run["error"] = describe_error(error)
        else:
            run["types"] = [describe_type(o) for o in outs]
            run["outputs"] = [o.detach().to("cpu").clone() if isinstance(o, torch.Tensor) else None for o in outs]
            kept.append((i, outs, run["outputs"]))
        state = state or _state_kept(i, lambda: decoy(DECOY_AFTER_MAX_ELEMENTS), True)[0]
        runs.append(run)
        given = {**case.inputs, **{k: v for k, v in case.options.items() if isinstance(v, torch.Tensor)}}
        now = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
        changed = sorted(k for k, v in given.items() if not _same(as_given(case, k, now[k]), v))
        if changed and not changed_at["inputs_changed"]:
            changed_at = {"case": i, "inputs_changed": changed}
    torch.set_rng_state(rng)
    reused = None
    for i, outs, copies in kept:
        name = next((n for n, o, c in zip(spec.outputs, outs, copies) if _changed_since(o, c)), None)
        if name is not None:
            reused = {"case": i, "output": name}
            break
    return {**changed_at, "runs": runs, "reused": reused, "global_state": state}


def _state_kept(i: int, run: Callable[[], Any], recording: bool) -> tuple[dict[str, Any] | None, Any, Exception | None]:
    """`run()` made with gradient recording on or off: (what it changed of torch's global state
    for its caller, or None; its result; the error it raised). The state is put back, so the
    next call starts as the caller would."""
    torch.rand(1)  # a state no torch.manual_seed(n) gives, whatever seed the process was started with
    dtype, rng = torch.get_default_dtype(), torch.get_rng_state()
    result: Any = None
    error: Exception | None = None
    with torch.set_grad_enabled(recording):
        try:
            result = run()
        except Exception as exc:  # noqa: BLE001  reported to the caller, who judges it
            error = exc
        left_on = torch.is_grad_enabled()
    found = None
    if left_on != recording:
        found = {"case": i, "what": "turned gradient recording off for its caller" if recording
                 else "left gradient recording on inside the caller's torch.no_grad()"}
    if torch.get_default_dtype() != dtype:
        torch.set_default_dtype(dtype)
        found = found or {"case": i, "what": f"changed torch's default dtype from {dtype}"}
    if not torch.equal(torch.get_rng_state(), rng):
        torch.set_rng_state(rng)
        found = found or {"case": i, "what": "changed torch's random number generator (torch.manual_seed, or a "
                          "random draw)"}
    return found, result, error


def trained_inputs(spec: Any) -> tuple[str, ...]:
    """The inputs that require grad in training (the policy's log-probs, the values), when they
    are not all of the graded run's: () when the graded run is already the training call."""
    trained = tuple(getattr(spec, "trained", None) or spec.grad_inputs)
    return trained if spec.constants or set(trained) != set(spec.grad_inputs) else ()


def probe_trained(spec: Any, fn: Callable, cases: list[Case]) -> list[dict[str, Any]] | None:
    """Each case differentiated as training does it: only the trained inputs require grad, the
    constants (old log-probs, advantages, a frozen reference) do not. A hand-written backward
    may take another path then. None when the graded run already is this call."""
    names = trained_inputs(spec)
    if not names:
        return None
    runs = []
    for case in cases:
        run = run_case(spec, fn, case, requiring=names)
        runs.append({"error": run["error"], "backward_error": run["backward_error"], "grads": run["grads"],
                     "outputs": run["outputs"]})
    return runs


def _decoy(fn: Callable, case: Case, inputs: dict[str, Any], options: dict[str, Any],
           largest: int = DECOY_MAX_ELEMENTS) -> None:
    """Call `fn` on `inputs` and `options` holding other values (`_decoy_values`), then put the
    case's values back into the same tensors. Layouts that cannot be written (an expanded
    mask), a batch of one row and cases with an input past `largest` elements (a decoy there
    would double the time of the longest rows) get no decoy. Made as the caller makes
    it (with gradient recording on or off); its result and errors are not judged."""
    batch = next(iter(case.inputs.values())).shape[0] if case.inputs else 0
    tensors = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
    if batch < 2 or any(t.dim() == 0 or 0 in t.stride() or t.shape[0] < 2 for t in tensors.values()) \
            or max(t.numel() for t in tensors.values()) > largest:
        return
    true = {k: t.clone() for k, t in tensors.items()}
    names = list(tensors)
    versions = tuple(tensors[k]._version for k in names)

    def as_untouched() -> None:
        """Each tensor's version counter as it was: to code, the decoy and the real call get the
        same tensors in every way it can see, so a cache keyed by (id, _version) too hands the
        decoy's result back. (A private call; without it, such a cache is missed.)"""
        reset = getattr(torch._C._autograd, "_unsafe_set_version_counter", None)
        try:
            if reset is not None:
                reset(tuple(tensors[k] for k in names), versions)
        except (TypeError, RuntimeError):
            pass

    with torch.no_grad():
        for t in tensors.values():
            t.copy_(_decoy_values(t))
    as_untouched()
    try:
        call(fn, case, inputs, options)
    except Exception:  # noqa: BLE001  only the real call is judged
        pass
    with torch.no_grad():
        for k, t in tensors.items():
            t.copy_(true[k])
    as_untouched()


def _decoy_values(t: torch.Tensor, flip: bool = True) -> torch.Tensor:
    """Other values of the same kind: a 0/1 tensor (a mask, a label) flipped (with `flip`: a
    flipped mask may leave a row with no token, which some katas refuse, or kept as it is);
    other floats rolled by one row and halved, so that counts, means and every statistic over
    the batch change too; other integers (token ids) rolled by one row."""
    if t.dtype == torch.bool or bool(((t == 0) | (t == 1)).all()):
        if not flip:
            return t.clone()
        return ~t if t.dtype == torch.bool else 1 - t
    rolled = t.roll(1, 0)
    return rolled * 0.5 if t.is_floating_point() else rolled


def as_given(case: Case, name: str, t: torch.Tensor) -> torch.Tensor:
    """Input `name` as the case holds it: an integer tensor passed in another width (a layout of
    grader.checks.cases) is compared in the case's own, which holds every value it can."""
    held = case.inputs.get(name, case.options.get(name))
    if isinstance(held, torch.Tensor) and t.dtype != held.dtype and not t.is_floating_point() \
            and not held.is_floating_point():
        return t.to(held.dtype)
    return t


def _changed_since(out: Any, copy: Any) -> bool:
    """True when an output tensor no longer holds what it held when it was returned."""
    if not isinstance(out, torch.Tensor) or not isinstance(copy, torch.Tensor):
        return False
    try:
        return not _same(out.detach().to("cpu"), copy)
    except Exception:  # noqa: BLE001  resized or freed storage: changed
        return True


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit for bit as passed, NaN where NaN was (an input may hold one on purpose)."""
    if torch.equal(a, b):
        return True
    return a.shape == b.shape and a.dtype == b.dtype and a.is_floating_point() and \
        bool(((a == b) | (a.isnan() & b.isnan())).all())


def is_batched(value: Any, batch: int) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == batch


def as_outputs(spec: Any, out: Any) -> list[Any]:
    """The submission's return value as a list aligned with `spec.outputs` (None where absent).
    Extra values are dropped here; `run_case` records how many came back, for output_types."""
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
            "grad_fn": value.grad_fn is not None, "device": value.device.type,
            "inference": bool(value.is_inference())}


def describe_error(exc: BaseException) -> dict[str, Any]:
    """Type, message, the submission's own line that raised it, and every frame (for --verbose)."""
    stack = traceback.extract_tb(exc.__traceback__)
    own = [f for f in stack if "/grader/" not in f.filename.replace("\\", "/") and "/torch/" not in f.filename]
    # Only a line of the submission's is worth showing: a frame of the grader's or torch's
    # (an error raised at the call itself, e.g. a missing parameter) says nothing about the code.
    frame = own[-1] if own else None
    where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}" if frame else ""
    return {"type": type(exc).__name__, "message": str(exc).strip()[:2000], "where": where,
            "not_implemented": isinstance(exc, NotImplementedError), "traceback": frames.lines(exc.__traceback__)}


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


def run_case(spec: Any, fn: Callable, case: Case, device: str = "cpu",
             requiring: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Call `fn` once on `case` and differentiate; used for the submission and the reference alike.

    Inputs are fresh copies in the case's memory layout; tensor options (a [B] label) are fresh
    copies too, and both are reported as they are after the call (`inputs_unchanged`), with any
    `.grad` the call itself set on them (a backward run inside the function).
    `requiring`: the inputs passed with requires_grad (default: the grad inputs and the constants).
    """
    inputs, options, present = _prepared(spec, case, device, requiring)
    run: dict[str, Any] = {"error": None, "outputs": [], "types": [], "grads": {}, "backward_error": None,
                           "custom_backward": False, "inputs_after": {}, "flags_changed": [], "returned": None,
                           "grad_set": [], "upstream_changed": False}
    given = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
    flags = {k: v.requires_grad for k, v in given.items()}  # the caller's autograd flags, as passed
    try:
        try:
            raw = call(fn, case, inputs, options)
        except Exception as exc:
            run["error"] = describe_error(exc)
            return run
        run["grad_set"] = [k for k in present if inputs[k].grad is not None]
        outs = as_outputs(spec, raw)
        run["types"] = [describe_type(o) for o in outs]
        if isinstance(raw, (tuple, list)):
            run["returned"] = len(raw)  # a 4-tuple where 3 are due fails output_types
        if len(spec.outputs) > 1:
            # A tuple or list subclass (a namedtuple, torch.return_types) unpacks like one.
            run["container"] = "tuple" if isinstance(raw, tuple) else "list" if isinstance(raw, list) \
                else type(raw).__name__
        run["outputs"] = [o.detach().to("cpu").clone() if isinstance(o, torch.Tensor) else None for o in outs]
        target = outs[spec.outputs.index(spec.graph_output)]
        try:
            if isinstance(target, torch.Tensor):
                run["custom_backward"] = has_custom_backward(target.grad_fn)
            run["grads"], run["upstream_changed"] = differentiate(spec, case, target, inputs, present)
        except Exception as exc:
            run["backward_error"] = describe_error(exc)
        return run
    finally:
        run["inputs_after"] = {k: as_given(case, k, v.detach().to("cpu").clone()) for k, v in given.items()}
        run["flags_changed"] = [k for k, v in given.items() if v.requires_grad != flags[k]]


def _prepared(spec: Any, case: Case, device: str, requiring: tuple[str, ...] | None,
              values: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[dict, dict, tuple[str, ...]]:
    """Fresh copies of the case's inputs and tensor options, in its layout, on `device`, the
    `requiring` ones (default: the grad inputs and the constants) requiring grad; `values`
    replaces the values first (a decoy's). Returns (inputs, options, the inputs requiring grad)."""
    def fresh(name: str, v: torch.Tensor) -> torch.Tensor:
        v = v.detach().clone() if values is None else values(v.detach())
        return laid_out(case, name, v).to(device)

    inputs = {k: fresh(k, v) for k, v in case.inputs.items()}
    options = {k: (fresh(k, v) if isinstance(v, torch.Tensor) else v) for k, v in case.options.items()}
    requiring = spec.grad_inputs + spec.constants if requiring is None else requiring
    present = tuple(n for n in requiring if n in inputs)  # an optional one may be absent
    for name in present:
        inputs[name].requires_grad_(True)
    return inputs, options, present


def differentiate(spec: Any, case: Case, target: Any, inputs: dict[str, Any],
                  names: tuple[str, ...]) -> tuple[dict[str, Any], bool]:
    """The gradients of the graph output w.r.t. `names`, and whether the backward changed the
    grad_output it received in place (harmless here, wrong wherever that tensor is shared).

    A loss is differentiated against LOSS_UPSTREAM, not 1, and the gradients divided back
    (exactly: a power of two): a hand-written backward that ignores, squares or clips its
    grad_output is then off, as it is whenever a trainer scales the loss. Another output
    receives the case's `upstream` in a non-contiguous layout, as a slice or a transpose of a
    larger gradient gives it (`.view` on it raises). A result with no graph reaches no input
    (None, as allow_unused gives): the judge accepts that where the reference's gradient is
    all zero (e.g. no token counts)."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"'{spec.graph_output}' is not a tensor")
    leaves = [inputs[n] for n in names]
    if not target.requires_grad:
        return {n: None for n in names}, False
    if spec.loss is not None:
        scale, upstream = LOSS_UPSTREAM, torch.full_like(target, LOSS_UPSTREAM)
    else:
        scale = 1.0
        upstream = LAYOUTS["transposed"](case.upstream.to(dtype=target.dtype)).to(target.device)
    sent = upstream.clone()
    grads = torch.autograd.grad(target, leaves, grad_outputs=upstream, allow_unused=True)
    changed = not _same(upstream.detach().to("cpu"), sent.to("cpu"))
    return {n: (g.detach().to("cpu").clone() / scale if g is not None else None) for n, g in zip(names, grads)}, changed


def probe_interleaved(spec: Any, fn: Callable, cases: list[Case]) -> dict[str, Any] | None:
    """The smallest case differentiated after a second call built another graph, as training
    does with two losses before one backward (a policy and a value loss, gradient
    accumulation): a hand-written backward that reads state a later call overwrote (a class
    attribute, a module-level buffer) gives the second call's gradients. The second call holds
    decoy values (`_decoy_values`, masks as they were); when it raises, nothing is judged. None
    for a kata without gradients."""
    if not spec.grad_inputs or not cases:
        return None
    i = min(range(len(cases)), key=lambda k: (cases[k].extreme, sum(t.numel() for t in cases[k].inputs.values())))
    case = cases[i]
    first, first_options, present = _prepared(spec, case, "cpu", None)
    second, second_options, _ = _prepared(spec, case, "cpu", None, values=lambda t: _decoy_values(t, flip=False))
    out: dict[str, Any] = {"case": i, "error": None, "grads": {}}
    try:
        target = as_outputs(spec, call(fn, case, first, first_options))[spec.outputs.index(spec.graph_output)]
    except Exception:  # noqa: BLE001  the graded run's error says it
        return None
    try:
        call(fn, case, second, second_options)
    except Exception:  # noqa: BLE001  other values the kata may refuse
        return None
    try:
        out["grads"], _ = differentiate(spec, case, target, first, present)
    except Exception as exc:  # noqa: BLE001  judged: differentiated right after its own call, it ran
        out["error"] = describe_error(exc)
    return out


def probe_default_float64(spec: Any, fn: Callable, cases: list[Case]) -> dict[str, Any] | None:
    """The smallest float32 case called under torch.set_default_dtype(torch.float64), as code
    that sets it for precision runs it: a tensor made without dtype= (torch.tensor,
    torch.zeros, torch.arange) then turns float32 outputs into float64. None when no case is
    float32."""
    f32 = [k for k, c in enumerate(cases) if not c.extreme and all(
        t.dtype == torch.float32 for t in c.inputs.values() if t.is_floating_point())
        and any(t.is_floating_point() for t in c.inputs.values())]
    if not f32:
        return None
    i = min(f32, key=lambda k: sum(t.numel() for t in cases[k].inputs.values()))
    case = cases[i]
    inputs = {k: laid_out(case, k, v.detach().clone()) for k, v in case.inputs.items()}
    options = {k: (laid_out(case, k, v.detach().clone()) if isinstance(v, torch.Tensor) else v)
               for k, v in case.options.items()}
    dtype = torch.get_default_dtype()
    out: dict[str, Any] = {"case": i, "error": None, "types": []}
    try:
        torch.set_default_dtype(torch.float64)
        with torch.no_grad():
            out["types"] = [describe_type(o) for o in as_outputs(spec, call(fn, case, inputs, options))]
    except Exception as exc:  # noqa: BLE001  judged: with float32 as the default it ran
        out["error"] = describe_error(exc)
    finally:
        torch.set_default_dtype(dtype)
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
    """Call on 'meta' tensors: a tensor made on a fixed device shows up as a device clash."""
    with _dynamo_stand_in():
        result = _probe_meta(spec, fn, case)
    if result["status"] == "not_applicable" and "AttributeError" in result["detail"] and "_dynamo" in result["detail"]:
        result = _probe_meta(spec, fn, case)
    return result


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
    """Call `fn` on each input the contract rejects; record what it raised (or that it returned)."""
    out = []
    for case in cases:
        try:
            with torch.no_grad():
                call(fn, case)
            out.append({"case": case.name, "raised": None})
        except Exception as exc:
            err = describe_error(exc)
            out.append({"case": case.name, "raised": err["type"], "message": err["message"][:300],
                        "value_error": isinstance(exc, ValueError)})
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
