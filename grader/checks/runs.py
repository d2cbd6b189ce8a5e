"""One call of a submission's function and its gradients, as the child and the grader both make it.

`run_case` calls the function on a case and differentiates it; it computes the submission's
runs in the sandboxed child and the reference's in the grader, so both sides are measured
the same way. The helpers here describe what came back as plain data. Nothing here decides
anything (grader.checks.judge does).

`spec` below is any object with the fields of `grader.checks.function.FunctionSpec`.
"""
from __future__ import annotations

import inspect
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from grader.checks.cases import LAYOUTS, Case, laid_out
from grader.core import frames


LOSS_UPSTREAM = 2.0 ** 16  # the gradient a loss's backward receives (fp16 loss scaling's): see run_case


# Every input a probe hands the function, kept alive until the probe ends (`kept_alive`): no
# two calls get tensors at the same address, or with the same id(), unless they share memory
# (the same tensor, or a row of it). A cache keyed by data_ptr() or id() is then hit only where
# the decoy calls look for it (the same tensors holding other values), never by the allocator
# giving a new input the address of an earlier one that held the same values.
KEPT: list[Any] | None = None


@contextmanager
def kept_alive() -> Iterator[None]:
    global KEPT
    KEPT = []
    try:
        yield
    finally:
        KEPT = None


def call(fn: Callable, case: Case, inputs: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
         params: Any = None, by_name: bool = False) -> Any:
    """`fn` called as the contract says: inputs positionally, in order (None where the case leaves
    an optional input out); options as keywords, or with `params` (the spec's parameters, in
    order) by position, defaults filling the options the case leaves out, as far as they go.
    `by_name`: every input and option as a keyword instead, in the reverse of the contract's
    order (a wrapper with parameters of other names, or one that lines keywords up in the order
    they came, shows)."""
    inputs = case.inputs if inputs is None else inputs
    options = dict(case.options if options is None else options)
    if KEPT is not None:
        KEPT.append((inputs, dict(options)))
    if by_name:
        named = {**dict(inputs), **{name: None for name in case.absent}, **options}
        return fn(**dict(reversed(list(named.items()))))
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


def as_given(case: Case, name: str, t: torch.Tensor) -> torch.Tensor:
    """Input `name` as the case holds it: an integer tensor passed in another width (a layout of
    grader.checks.cases) is compared in the case's own, which holds every value it can."""
    held = case.inputs.get(name, case.options.get(name))
    if isinstance(held, torch.Tensor) and t.dtype != held.dtype and not t.is_floating_point() \
            and not held.is_floating_point():
        return t.to(held.dtype)
    return t


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
             requiring: tuple[str, ...] | None = None, graph_walk: bool = True) -> dict[str, Any]:
    """Call `fn` once on `case` and differentiate; used for the submission and the reference alike.

    Inputs are fresh copies in the case's memory layout; tensor options (a [B] label) are fresh
    copies too, and both are reported as they are after the call (`inputs_unchanged`), with any
    `.grad` the call itself set on them (a backward run inside the function).
    `requiring`: the inputs passed with requires_grad (default: the grad inputs and the constants).
    `graph_walk`: look through the graph for a hand-written backward (`custom_backward`, which
    decides gradcheck): the graded run's alone needs it, and the walk is a tenth of a probe.
    """
    inputs, options, present = _prepared(spec, case, device, requiring)
    run: dict[str, Any] = {"error": None, "outputs": [], "types": [], "grads": {}, "backward_error": None,
                           "custom_backward": False, "inputs_after": {}, "flags_changed": [], "returned": None,
                           "grad_set": [], "upstream_changed": False, "hooked": [], "written": [],
                           "changed_by_backward": []}
    given = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
    flags = {k: v.requires_grad for k, v in given.items()}  # the caller's autograd flags, as passed
    hooks = {k: _hooks_on(v) for k, v in given.items()}
    versions = {k: v._version for k, v in given.items()}
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
            if isinstance(target, torch.Tensor) and graph_walk:
                run["custom_backward"] = has_custom_backward(target.grad_fn)
            run["grads"], run["upstream_changed"] = differentiate(spec, case, target, inputs, present)
        except Exception as exc:
            run["backward_error"] = describe_error(exc)
        # A backward that writes into what the call returned (a scratch buffer) changes the
        # caller's logged rewards and metrics after the fact.
        run["changed_by_backward"] = [n for n, o, c in zip(spec.outputs, outs, run["outputs"]) if changed_since(o, c)]
        return run
    finally:
        run["inputs_after"] = {k: as_given(case, k, v.detach().to("cpu").clone()) for k, v in given.items()}
        run["flags_changed"] = [k for k, v in given.items() if v.requires_grad != flags[k]]
        # A hook left on the caller's tensor acts on every later backward through it (another
        # loss term's); an in-place write, even of the same values, bumps its version, and the
        # caller's own backward through that tensor then raises.
        run["hooked"] = [k for k, v in given.items() if _hooks_on(v) != hooks[k]]
        run["written"] = [k for k, v in given.items() if v._version != versions[k]]


def _hooks_on(t: torch.Tensor) -> int:
    """How many autograd hooks a tensor carries (register_hook, register_post_accumulate_grad_hook)."""
    return sum(len(getattr(t, name, None) or ()) for name in ("_backward_hooks", "_post_accumulate_grad_hooks"))


def changed_since(out: Any, copy: Any) -> bool:
    """True when an output tensor no longer holds what it held when it was returned (`copy`)."""
    if not isinstance(out, torch.Tensor) or not isinstance(copy, torch.Tensor):
        return False
    try:
        return not _same(out.detach().to("cpu"), copy)
    except Exception:  # noqa: BLE001  resized or freed storage: changed
        return True


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
