"""The child's calls made as training makes them, beyond the graded run of each case.

Without a graph (rewards, values, a frozen model's log-probs), under torch.no_grad or with
gradient recording on, with the options by position; around decoy calls on the same tensors;
with only the trained inputs requiring grad; after a second call built another graph; under
float64 as the default dtype. Each collects plain data for grader.checks.judge to decide on.

`spec` below is any object with the fields of `grader.checks.function.FunctionSpec`.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.checks import torch_state
from grader.checks.cases import Case, laid_out
from grader.checks.runs import _prepared, _same, as_given, as_outputs, call, changed_since, describe_error, \
    describe_type, differentiate, run_case


# The largest input a decoy call is made with, before the real call and after it (see _decoy):
# every case of every kata today. A cache or a per-shape buffer kept only past some size is as
# wrong as one kept always, so the decoys reach the largest cases too.
DECOY_MAX_ELEMENTS = 1 << 19


def probe_no_grad(spec: Any, fn: Callable, cases: list[Case], baseline: list[Any] | None = None) -> dict[str, Any]:
    """Each case called as training calls it when nothing needs a gradient (rewards, values, a
    frozen model's log-probs): inputs without a graph. Even cases are called under
    torch.no_grad, every other one of them with every input and option passed by name (a
    wrapper whose parameters have other names shows there); odd ones with gradient recording on
    (an evaluation step without no_grad) and their options passed by position (a wrapper that
    forwards keywords only shows there).
    Reports per case the outputs and their types (judged like the graded run's: code may take
    another path when nothing needs a gradient), the first case where the call modified inputs
    in place, and which (with requires_grad an in-place change raises, so only these calls
    show one), the first output a later call changed (a buffer the function keeps and writes
    again), and the first call that changed torch's global state for its caller (grad mode,
    or a setting of grader.checks.torch_state).

    Each case up to DECOY_MAX_ELEMENTS is also called with a decoy before and after the real
    call: the same input tensors holding other values (`_decoy_values`), then refilled with the
    case's own in place. Before: code that keeps results keyed by the tensors' identity (id(),
    data_ptr()) gives the decoy's back. After (each case has shapes of its own): an output kept
    in a buffer per shape is overwritten by the decoy's.

    `baseline` is torch_state.as_in_training() from before the first call of the function: each
    call starts from it, and a call that leaves anything else is reported (a setting changed by
    an earlier graded run would otherwise already be in the state each call is compared with)."""
    runs: list[dict[str, Any]] = []
    kept: list[tuple[int, list[Any], list[Any]]] = []  # case, outputs as returned, copies made at once
    changed_at: dict[str, Any] = {"inputs_changed": []}
    state: dict[str, Any] | None = None  # the first call that changed torch's global state for its caller
    own = torch_state.snapshot()  # put back at the end: later probes draw what they drew before
    baseline = baseline or torch_state.as_in_training()
    for i, case in enumerate(cases):
        inputs = {k: laid_out(case, k, v.detach().clone()) for k, v in case.inputs.items()}
        options = {k: (laid_out(case, k, v.detach().clone()) if isinstance(v, torch.Tensor) else v)
                   for k, v in case.options.items()}
        recording, by_name = i % 2 == 1, i % 4 == 2

        def decoy() -> None:
            _decoy(fn, case, inputs, options)

        def real() -> list[Any]:
            return as_outputs(spec, call(fn, case, inputs, options, spec.params if recording else None, by_name))

        state = state or _state_kept(i, decoy, True, baseline)[0]
        run: dict[str, Any] = {"error": None, "outputs": [], "types": [], "recording": recording, "by_name": by_name}
        found, outs, error = _state_kept(i, real, recording, baseline)
        state = state or found
        if error is not None:  # a valid input: judged like the graded run's error
            run["error"] = describe_error(error)
        else:
            run["types"] = [describe_type(o) for o in outs]
            run["outputs"] = [o.detach().to("cpu").clone() if isinstance(o, torch.Tensor) else None for o in outs]
            kept.append((i, outs, run["outputs"]))
        state = state or _state_kept(i, decoy, True, baseline)[0]
        runs.append(run)
        given = {**case.inputs, **{k: v for k, v in case.options.items() if isinstance(v, torch.Tensor)}}
        now = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
        changed = sorted(k for k, v in given.items() if not _same(as_given(case, k, now[k]), v))
        if changed and not changed_at["inputs_changed"]:
            changed_at = {"case": i, "inputs_changed": changed}
    torch_state.restore(own)
    reused = None
    for i, outs, copies in kept:
        name = next((n for n, o, c in zip(spec.outputs, outs, copies) if changed_since(o, c)), None)
        if name is not None:
            reused = {"case": i, "output": name}
            break
    return {**changed_at, "runs": runs, "reused": reused, "global_state": state}


def _state_kept(i: int, run: Callable[[], Any], recording: bool,
                baseline: list[Any]) -> tuple[dict[str, Any] | None, Any, Exception | None]:
    """`run()` made with gradient recording on or off, from torch's settings as `baseline`:
    (what it changed of torch's global state for its caller, or None; its result; the error it
    raised). The state is put back, so the next call starts as the caller would. Grad mode is
    judged here; every other setting (threads, default dtype and device, the random generator,
    ...) in grader.checks.torch_state."""
    result: Any = None
    error: Exception | None = None
    with torch_state.trainer_threads():
        torch_state.restore(baseline)  # what an earlier call left is not this call's doing
        with torch.set_grad_enabled(recording):
            try:
                result = run()
            except Exception as exc:  # noqa: BLE001  reported to the caller, who judges it
                error = exc
            left_on = torch.is_grad_enabled()
        changed = torch_state.restore(baseline)
    found = None
    if left_on != recording:
        found = {"case": i, "what": "turned gradient recording off for its caller" if recording
                 else "left gradient recording on inside the caller's torch.no_grad()"}
    if changed:
        found = found or {"case": i, "what": changed}
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
    return [_trained_run(run_case(spec, fn, case, requiring=names, graph_walk=False)) for case in cases]


def _trained_run(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("error", "backward_error", "grads", "outputs", "types")}


ALONE_CASES = 2  # the smallest cases differentiated with each grad input alone requiring grad


def probe_alone(spec: Any, fn: Callable, cases: list[Case], runs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The smallest cases differentiated with each input that requires grad in the graded run
    (the grad inputs and the constants) alone requiring grad, as a caller that trains one of
    them does (kl's frozen policy and a learned reference; gae's rewards from a learned reward
    model and values from a frozen critic): code that detaches one input only when another
    carries a graph, or a hand-written backward that reads needs_input_grad wrongly, takes
    another path there. The cases are the smallest where the graded run (`runs`) sent a
    gradient to every grad input: an empty batch's zeros would show nothing. None for a kata
    with fewer than two such inputs."""
    names = spec.grad_inputs + spec.constants
    if len(names) < 2:
        return None

    def reaches_all(k: int) -> bool:
        grads = runs[k]["grads"] if not runs[k]["error"] else None
        return grads is not None and all(grads.get(n) is not None and bool(grads[n].ne(0).any())
                                         for n in spec.grad_inputs)

    picked = sorted((k for k in range(len(cases)) if not cases[k].extreme and reaches_all(k)),
                    key=lambda k: sum(t.numel() for t in cases[k].inputs.values()))
    return [{"case": i, "input": name,
             **_trained_run(run_case(spec, fn, cases[i], requiring=(name,), graph_walk=False))}
            for i in picked[:ALONE_CASES] for name in names if name in cases[i].inputs]


def _decoy(fn: Callable, case: Case, inputs: dict[str, Any], options: dict[str, Any]) -> None:
    """Call `fn` on `inputs` and `options` holding other values (`_decoy_values`), then put the
    case's values back into the same tensors. An expanded (stride-0) tensor is written through
    its own memory, each repeated row once. Cases with an input past DECOY_MAX_ELEMENTS
    elements get no decoy. Made as the caller makes it (with gradient recording on or off);
    its result and errors are not judged."""
    tensors = {**inputs, **{k: v for k, v in options.items() if isinstance(v, torch.Tensor)}}
    if not tensors or max(t.numel() for t in tensors.values()) > DECOY_MAX_ELEMENTS:
        return
    memory = {k: _own_memory(t) for k, t in tensors.items()}
    true = {k: m.clone() for k, m in memory.items()}
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
        for m in memory.values():
            m.copy_(_decoy_values(m))
    as_untouched()
    try:
        call(fn, case, inputs, options)
    except Exception:  # noqa: BLE001  only the real call is judged
        pass
    with torch.no_grad():
        for k, m in memory.items():
            m.copy_(true[k])
    as_untouched()


def _own_memory(t: torch.Tensor) -> torch.Tensor:
    """`t` itself, or for an expanded tensor the view of its memory that holds each repeated
    element once (stride-0 dimensions taken at size 1): writable where `t` is not."""
    if 0 not in t.stride():
        return t
    return t.as_strided([1 if st == 0 else n for n, st in zip(t.shape, t.stride())], t.stride(), t.storage_offset())


def _decoy_values(t: torch.Tensor, flip: bool = True) -> torch.Tensor:
    """Other values of the same kind: a 0/1 tensor (a mask, a label) flipped (with `flip`: a
    flipped mask may leave a row with no token, which some katas refuse, or kept as it is);
    other floats rolled by one row (where there are two) and halved, so that counts, means and
    every statistic over the batch change too; other integers (token ids) rolled by one row.

    A flipped row with as many ones as before (2 of 4), over the whole row or past its first
    position (a shifted mask's count), is all ones instead: code that keeps a mask's count
    by address must get a count of its own from the decoy, at every seed."""
    if t.dtype == torch.bool or bool(((t == 0) | (t == 1)).all()):
        if not flip:
            return t.clone()
        flipped = ~t if t.dtype == torch.bool else 1 - t
        if t.dim() == 0 or t.shape[-1] < 2:
            return flipped
        kept = (flipped.sum(-1) == t.sum(-1)) | (flipped[..., 1:].sum(-1) == t[..., 1:].sum(-1))
        return torch.where(kept.unsqueeze(-1), torch.ones_like(flipped), flipped)
    rolled = t.roll(1, 0) if t.dim() > 0 else t.clone()
    return rolled * 0.5 if t.is_floating_point() else rolled


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
