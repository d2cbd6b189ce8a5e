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
    again under no_grad and in eval mode, then after an in-place step. Each run also carries the
    generic `error` and `outputs` ([p]) that the diagnosis reads. The id tensors forward receives
    are fresh copies, compared with the case's after every call (`ids_changed`)."""
    runs = []
    signatures: dict[str, Any] = {"init": signature_of(cls), "forward": None}
    for case in cases:
        run: dict[str, Any] = {"error": None, "outputs": [None], "ids_changed": []}
        runs.append(run)
        n = int(case.options["n_items"])
        dtype = case.inputs["reward"].dtype
        try:
            model = cls(n)
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

        def forward(reverse: bool = False) -> Any:
            """forward on fresh copies of the case's ids; the ones it changed are noted."""
            c, j = case.inputs["chosen_ids"].clone(), case.inputs["rejected_ids"].clone()
            out = model(j, c) if reverse else model(c, j)
            changed = [name for name, given in (("chosen_ids", c), ("rejected_ids", j))
                       if not torch.equal(given, case.inputs[name])]
            run["ids_changed"] = sorted(set(run["ids_changed"]) | set(changed))
            return out

        try:
            p = forward()
            run["forward_type"] = describe_type(p)
            run["p"] = _plain(p)
            run["outputs"] = [run["p"]]
            run["p_rev"] = _plain(forward(reverse=True))
        except Exception as exc:
            run["error"] = run["forward_error"] = describe_error(exc)
            continue
        try:  # extreme rewards too: the gradient must stay finite wherever σ' is
            target = (p * case.upstream.to(p.dtype)).sum()
            (grad,) = torch.autograd.grad(target, [reward], allow_unused=True)
            run["grad"] = grad.detach().to("cpu").clone() if grad is not None else None
        except Exception as exc:
            run["grad_error"] = describe_error(exc)
        run["modes"] = [_forward_in_mode(model, forward, train, grad) for _, train, grad in MODES]
        try:  # an optimiser step changes the rewards in place; forward must read the new ones
            with torch.no_grad():
                reward.add_(case.options["step"].to(reward.device, reward.dtype))
            p_after = forward()
            run["reward_after"] = reward.detach().to("cpu").clone()
            run["after_type"] = describe_type(p_after)
            run["p_after"] = _plain(p_after)
        except Exception as exc:
            run["after_error"] = describe_error(exc)
    return {"runs": runs, "signatures": signatures}


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
    return _schema.problem(model, MODEL_REPORT, f"the {CLASS} report")


_SIGNATURE = Opt(ListOf({"name": str, "kind": str, "has_default": bool, "default": ANY}))
_MODE = OneOf(({"error": ERROR}, {"type": TYPE, "p": Opt(torch.Tensor)}))
# The fields that the checks below read without looking (the others they test before reading).
MODEL_REPORT = {"signatures": {"init": _SIGNATURE, "forward": _SIGNATURE},
                "runs": ListOf({"ids_changed": ListOf(str), Maybe("modes"): ListOf(_MODE)})}
