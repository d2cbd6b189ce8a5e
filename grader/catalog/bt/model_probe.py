"""bt's class side in the child: BTModel built, set, called and differentiated on each case, as
plain data, and the shape of that report (grader.catalog.bt.model judges it)."""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.catalog.bt.model_cases import CLASS, MODES
from grader.checks import schema as _schema
from grader.checks.cases import Case
from grader.checks.probe import describe_error, describe_type, signature_of
from grader.checks.schema import ANY, ERROR, TYPE, ListOf, Maybe, OneOf, Opt


def probe_model(cls: Any, cases: list[Case]) -> dict[str, Any]:
    """Build BTModel for each case, set its rewards, call forward both ways, differentiate, call it
    again under no_grad and in eval mode, then after an in-place step (both ways again), and
    differentiate once more, back in train mode. Each run also carries the generic `error` and
    `outputs` ([p]) that the diagnosis reads. The id tensors forward receives are fresh copies,
    compared with the case's after every call (`ids_changed`), and so is the reward it holds
    (`reward_changed`: forward must not move the parameter behind the optimiser's back).

    The contract's names are binding, so the model is built as BTModel(n_items=n) and the first
    call of each round passes the ids by name (`model(chosen_ids=..., ...)`, after the step
    `model.forward(chosen_ids=..., ...)`); the others pass them by position."""
    runs = []
    signatures: dict[str, Any] = {"init": signature_of(cls), "forward": None}
    for case in cases:
        run: dict[str, Any] = {"error": None, "outputs": [None], "ids_changed": [], "reward_changed": []}
        runs.append(run)
        n = int(case.options["n_items"])
        dtype = case.inputs["reward"].dtype
        try:
            model = cls(n_items=n)
            if dtype != torch.float32:  # as a caller converts a model: its parameters, floating ones only
                model = model.to(dtype)
        except NotImplementedError as exc:
            return {"not_started": describe_error(exc)}
        except Exception as exc:
            run["error"] = run["build_error"] = describe_error(exc)
            continue
        if signatures["forward"] is None:
            signatures["forward"] = signature_of(getattr(model, "forward", None))
        reward = getattr(model, "reward", None)
        params = list(model.named_parameters())
        run["parameters"] = [[name, list(p.shape)] for name, p in params]
        run["reward_type"] = describe_type(reward) if reward is not None else None
        run["is_parameter"] = isinstance(reward, torch.nn.Parameter)
        run["registered"] = any(p is reward for _, p in params)
        try:
            with torch.no_grad():
                reward.copy_(case.inputs["reward"])
            run["reward"] = reward.detach().to("cpu").clone()
        except Exception as exc:
            run["error"] = run["set_error"] = describe_error(exc)
            continue

        def forward(reverse: bool = False, by_name: Callable[..., Any] | None = None, where: str = "") -> Any:
            """forward on fresh copies of the case's ids (by_name: that callable, the ids by name);
            the ids it changed are noted, and `where` it changed the reward it holds."""
            c, j = case.inputs["chosen_ids"].clone(), case.inputs["rejected_ids"].clone()
            held = reward.detach().clone()
            if by_name is not None:
                out = by_name(chosen_ids=c, rejected_ids=j)
            else:
                out = model(j, c) if reverse else model(c, j)
            changed = [name for name, given in (("chosen_ids", c), ("rejected_ids", j))
                       if not torch.equal(given, case.inputs[name])]
            run["ids_changed"] = sorted(set(run["ids_changed"]) | set(changed))
            if getattr(model, "reward", None) is not reward or not torch.equal(reward.detach(), held):
                run["reward_changed"].append(where or ("forward(rejected_ids, chosen_ids)" if reverse else
                                                       "forward(chosen_ids, rejected_ids)"))
            return out

        try:
            p = forward(by_name=model, where="model(chosen_ids=..., rejected_ids=...)")
            run["forward_type"] = describe_type(p)
            run["p"] = _plain(p)
            run["outputs"] = [run["p"]]
            run["p_rev"] = _plain(forward(reverse=True))
        except Exception as exc:
            run["error"] = run["forward_error"] = describe_error(exc)
            continue
        # extreme rewards too: the gradient must stay finite wherever σ' is
        run["grad"], grad_error = _gradient(lambda: p, reward, case)
        if grad_error is not None:
            run["grad_error"] = grad_error
        run["modes"] = [_forward_in_mode(model, lambda: forward(where=f"forward {how}"), train, grad)
                        for how, train, grad in MODES]
        try:  # an optimiser step changes the rewards in place; forward must read the new ones
            with torch.no_grad():
                reward.add_(case.options["step"].to(reward.device, reward.dtype))
            run["reward_after"] = reward.detach().to("cpu").clone()
            p_after = forward(by_name=model.forward, where="model.forward(chosen_ids=..., rejected_ids=...)")
            run["after_type"] = describe_type(p_after)
            run["p_after"] = _plain(p_after)
        except Exception as exc:
            run["after_error"] = describe_error(exc)
            continue
        # Evaluated again after the step (a cache built at the first evaluation goes stale here),
        # then trained again: back in train mode the gradient must reach reward as it did before.
        run["modes_after"] = [_forward_in_mode(model, lambda: forward(where=f"forward {how}, after the step"),
                                               train, grad) for how, train, grad in MODES]
        run["requires_grad_after"] = bool(getattr(reward, "requires_grad", False))
        run["grad_after"], run["grad_after_error"] = _gradient(
            lambda: forward(where="forward back in train mode, after the step"), reward, case)
    return {"runs": runs, "signatures": signatures}


def _gradient(forward: Callable[[], Any], reward: torch.Tensor, case: Case) -> tuple[Any, Any]:
    """(d sum(upstream · forward()) / d reward, None), or (None, the error it raised)."""
    try:
        p = forward()
        (grad,) = torch.autograd.grad((p * case.upstream.to(p.dtype)).sum(), [reward], allow_unused=True)
        return (grad.detach().to("cpu").clone() if grad is not None else None), None
    except Exception as exc:
        return None, describe_error(exc)


def _plain(p: Any) -> torch.Tensor | None:
    return p.detach().to("cpu").clone() if isinstance(p, torch.Tensor) else None


def _forward_in_mode(model: Any, forward: Callable[[], Any], train: bool, grad: bool) -> dict[str, Any]:
    """forward with the module's train flag and torch's grad mode set as a caller evaluating it
    sets them; the model is put back in train mode after."""
    try:
        model.train(train)
        with torch.set_grad_enabled(grad):
            p = forward()
        return {"type": describe_type(p), "p": _plain(p)}
    except Exception as exc:
        return {"error": describe_error(exc)}
    finally:
        model.train(True)


def malformed(cases: list[Case], model: dict[str, Any]) -> str:
    if "not_started" in model or "missing" in model:
        return ""
    runs = model.get("runs")
    if not isinstance(runs, list) or len(runs) != len(cases) or not all(isinstance(r, dict) for r in runs):
        return f"{len(runs) if isinstance(runs, list) else 'no'} {CLASS} runs reported for {len(cases)} cases"
    if any(r.get("error") is None and len(r.get("modes") or ()) != len(MODES) for r in runs):
        return f"a {CLASS} run that raised nothing reports no forward {MODES[0][0]} or in eval mode"
    if any(r.get("error") is None and "after_error" not in r and len(r.get("modes_after") or ()) != len(MODES)
           for r in runs):
        return f"a {CLASS} run that raised nothing reports no forward in eval mode after the step"
    return _schema.problem(model, MODEL_REPORT, f"the {CLASS} report")


_SIGNATURE = Opt(ListOf({"name": str, "kind": str, "has_default": bool, "default": ANY}))
_MODE = OneOf(({"error": ERROR}, {"type": TYPE, "p": Opt(torch.Tensor)}))
# The fields that the checks below read without looking (the others they test before reading).
MODEL_REPORT = {"signatures": {"init": _SIGNATURE, "forward": _SIGNATURE},
                "runs": ListOf({"ids_changed": ListOf(str), "reward_changed": ListOf(str),
                                Maybe("modes"): ListOf(_MODE), Maybe("modes_after"): ListOf(_MODE),
                                Maybe("requires_grad_after"): bool,
                                Maybe("grad_after"): Opt(torch.Tensor), Maybe("grad_after_error"): Opt(ERROR)})}
