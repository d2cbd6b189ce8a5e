"""The shape of what an honest child reports for a function kata, checked before any check reads it.

The child runs next to the submission, which can rewrite the probe's records (patch
`grader.checks.probe`, rebuild the dicts). The engine asks `FunctionSpec.malformed` first; a
report that does not have the shape below is the submission's error ("the results could not
be judged"), so a check that raises afterwards is the grader's own bug, as it should be.

A schema is a Python type (`str`, `bool`, `int`, `float`, `torch.Tensor`), `ANY`, `Const(v)` (v
itself, of v's type), `Opt(s)` (None or s), `ListOf(s)`, `DictOf(s)` (string or integer keys),
`OneOf(s, ...)` (a form each: a record's short form names the constant that selects it), or a dict literal
{key: s} whose keys must all be present (a key wrapped in `Maybe` may be absent); extra keys
are allowed, since no check reads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

ANY = object()


@dataclass(frozen=True)
class Opt:
    schema: Any


@dataclass(frozen=True)
class ListOf:
    schema: Any


@dataclass(frozen=True)
class DictOf:
    schema: Any


@dataclass(frozen=True)
class OneOf:
    schemas: tuple[Any, ...]


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Maybe:
    key: str


def problem(value: Any, schema: Any, where: str = "the report") -> str:
    """Why `value` does not have the shape `schema` ("" when it does)."""
    return _problem(value, schema, (None, where))


def _named(path: tuple[Any, Any]) -> str:
    """A place written out ("the report['runs'][3]") from its (parent, step) pairs: only for a
    message, so a report of many thousand values costs nothing per value when it is sound. A
    step is a list's index, ("key", a record's key) or ("any", a DictOf's key); the root's is
    the report's name."""
    parts = []
    while path[0] is not None:
        path, step = path
        parts.append(f"[{step}]" if type(step) is int else f"[{step[1]!r}]" if step[0] == "key" else
                     f"[{str(step[1])[:40]!r}]")
    return path[1] + "".join(reversed(parts))


def _problem(value: Any, schema: Any, path: tuple[Any, Any]) -> str:
    if schema is ANY:
        return ""
    if isinstance(schema, Const):
        return "" if type(value) is type(schema.value) and value == schema.value else \
            f"{_named(path)} is not {schema.value!r}"
    if isinstance(schema, Opt):
        return "" if value is None else _problem(value, schema.schema, path)
    if isinstance(schema, OneOf):
        return "" if any(not _problem(value, s, path) for s in schema.schemas) else f"{_named(path)} has an unknown form"
    if isinstance(schema, ListOf):
        if not isinstance(value, (list, tuple)):
            return f"{_named(path)} is not a list"
        return next((p for i, v in enumerate(value) if (p := _problem(v, schema.schema, (path, i)))), "")
    if isinstance(schema, DictOf):
        if not isinstance(value, dict) or not all(isinstance(k, (str, int)) for k in value):
            return f"{_named(path)} is not a record"
        return next((p for k, v in value.items()
                     if (p := _problem(v, schema.schema, (path, ("any", k))))), "")
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{_named(path)} is not a record"
        for key, s in schema.items():
            name = key.key if isinstance(key, Maybe) else key
            if name not in value:
                if isinstance(key, Maybe):
                    continue
                return f"{_named(path)} has no '{name}'"
            p = _problem(value[name], s, (path, ("key", name)))
            if p:
                return p
        return ""
    if schema is int:
        return "" if type(value) is int else f"{_named(path)} is not an integer"
    if schema is float:
        return "" if type(value) in (int, float) else f"{_named(path)} is not a number"
    return "" if isinstance(value, schema) else f"{_named(path)} is not a {schema.__name__}"


# ------------------------------------------------------------------ what grader.checks.probe writes
ERROR = {"type": str, "message": str, "where": str, "not_implemented": bool, "traceback": ListOf(str)}
TYPE = OneOf(({"tensor": Const(True), "type": str, "shape": ListOf(int), "dtype": str, "requires_grad": bool,
               "grad_fn": bool, "device": str, "inference": bool}, {"tensor": Const(False), "type": str}))
TENSOR_OR_NONE = Opt(torch.Tensor)
RUN = {"error": Opt(ERROR), "outputs": ListOf(TENSOR_OR_NONE), "types": ListOf(TYPE), "grads": DictOf(TENSOR_OR_NONE),
       "backward_error": Opt(ERROR), "custom_backward": bool, "inputs_after": DictOf(torch.Tensor),
       "flags_changed": ListOf(str), "returned": Opt(int), Maybe("container"): str, "grad_set": ListOf(str),
       "upstream_changed": bool, "hooked": ListOf(str), "written": ListOf(str), "changed_by_backward": ListOf(str)}
TRAINED_RUN = {"error": Opt(ERROR), "backward_error": Opt(ERROR), "grads": DictOf(TENSOR_OR_NONE),
               "outputs": ListOf(TENSOR_OR_NONE), "types": ListOf(TYPE)}
BARE_RUN = {"error": Opt(ERROR), "outputs": ListOf(TENSOR_OR_NONE), "types": ListOf(TYPE), "recording": bool,
            "by_name": bool}
FATAL = {"kind": str, "message": str}  # grader.sandbox.worker.fatal_error's, and a part's of grader.checks.multi
BEHAVIOUR = OneOf(({"data": ANY}, {"error": ERROR}))
FUNCTION_REPORT = {
    "signature": Opt(ListOf({"name": str, "kind": str, "has_default": bool, "default": ANY})),
    "runs": ListOf(RUN),
    "rows": OneOf(({"error": ERROR}, {"outputs": ListOf(ListOf(TENSOR_OR_NONE)), "inputs_changed": ListOf(str)})),
    "no_grad": {"inputs_changed": ListOf(str), Maybe("case"): int, "runs": ListOf(BARE_RUN),
                "reused": Opt({"case": int, "output": str}), "global_state": Opt({"case": int, "what": str})},
    "trained": Opt(ListOf(TRAINED_RUN)),
    "alone": Opt(ListOf({"case": int, "input": str, **TRAINED_RUN})),
    "interleaved": Opt({"case": int, "error": Opt(ERROR), "grads": DictOf(TENSOR_OR_NONE)}),
    "default_float64": Opt({"case": int, "error": Opt(ERROR), "types": ListOf(TYPE)}),
    "meta": {"status": str, "detail": str, Maybe("left"): str},
    "cuda": OneOf(({"skip": str}, {"device": str, "runs": DictOf({"outputs": ListOf(TENSOR_OR_NONE),
                                                                 "grads": DictOf(TENSOR_OR_NONE),
                                                                 "error": Opt(ERROR)})})),
    "gradcheck": OneOf(({"ran": Const(True), "case": str, "ok": bool, Maybe("ok_float32"): bool,
                         Maybe("message"): str}, {"ran": Const(False)})),
    Maybe("bad_inputs"): ListOf({"case": str, "raised": Opt(str), Maybe("message"): str, Maybe("value_error"): bool,
                                 Maybe("left"): str}),
    Maybe("behaviour"): BEHAVIOUR,
}
