"""A notebook's objects written as a kata file: the usual imports, the modules, constants and
helpers the objects use from their own module, then their source (`inspect.getsource`, which
finds notebook cells through linecache). Used by the notebook API (grader.api). No torch.
"""
from __future__ import annotations

import inspect
import textwrap
import types
from typing import Any

from grader import registry


PRELUDE = """\
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
"""
PRELUDE_NAMES = {"math", "torch", "nn", "F", "Tensor"}


def kata_source(name: str, *objects: Any) -> str:
    """The kata file that defines `objects` as kata `name`'s entry points: the usual imports,
    the modules, constants and helpers the objects use from their own module, then their source.

    A global the objects use that cannot be written as source (an open file, a model instance)
    raises ValueError naming it, before anything is graded."""
    kata = registry.get(name)
    bound = _bind(kata.entry, objects)
    found = Globals()
    bodies = []
    for entry, obj in bound.items():
        bodies.append(_source_of(obj))
        _collect(obj, found, set(bound.values()) | {obj})
        if getattr(obj, "__name__", entry) != entry:
            bodies.append(f"{entry} = {obj.__name__}")
    if found.uncarried:
        raise ValueError("these globals cannot be carried into the sandbox, where your code runs: "
                         + "; ".join(f"{n} ({why})" for n, why in found.uncarried.items())
                         + ". Define them inside the function, or as numbers, strings, tuples or small tensors "
                         "at the top level of a cell.")
    parts = [PRELUDE]
    if found.imports:
        parts.append("\n".join(found.imports.values()) + "\n")
    if found.constants:
        parts.append("\n".join(found.constants.values()) + "\n")
    parts.extend(found.helpers.values())
    parts.extend(bodies)
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"


class Globals:
    """What a graded object needs from its module, each as source: imports, constants, helpers;
    and what cannot be written as source, with why."""

    def __init__(self) -> None:
        self.imports: dict[str, str] = {}  # name -> import line
        self.constants: dict[str, str] = {}  # name -> `NAME = literal`
        self.helpers: dict[str, str] = {}  # name -> source, in the order found
        self.uncarried: dict[str, str] = {}  # name -> why it cannot be carried


def _bind(entry: tuple[str, ...], objects: tuple[Any, ...]) -> dict[str, Any]:
    if len(objects) == 1 and isinstance(objects[0], dict):
        given = dict(objects[0])
        unknown = set(given) - set(entry)
        if unknown:
            raise ValueError(f"{', '.join(sorted(unknown))}: not an entry point of this kata; it needs {', '.join(entry)}")
    else:
        given = {getattr(o, "__name__", None): o for o in objects if getattr(o, "__name__", None) in entry}
        rest = [o for o in objects if getattr(o, "__name__", None) not in entry]
        for e in entry:
            if e not in given and rest:
                given[e] = rest.pop(0)
        if rest:
            raise ValueError(f"too many objects: this kata needs {len(entry)} ({', '.join(entry)})")
    missing = [e for e in entry if e not in given]
    if missing:
        raise ValueError(f"this kata needs {', '.join(entry)}; missing: {', '.join(missing)}. "
                         f"Example: grade(name, {', '.join(entry)})")
    for e, obj in given.items():
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            raise TypeError(f"{e}: expected a function or a class defined with def/class, got {type(obj).__name__}")
    return {e: given[e] for e in entry}


def _source_of(obj: Any) -> str:
    if getattr(obj, "__name__", "") == "<lambda>":
        raise ValueError("a lambda cannot be graded: define the function with def (in a cell or a file)")
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        found = _class_source(obj) if inspect.isclass(obj) else None
        if found is None:
            raise ValueError(f"cannot read the source of {getattr(obj, '__qualname__', obj)!r} ({exc}); define it "
                             "with def/class in a notebook cell or a file, not with exec") from None
        return found


def _class_source(cls: type) -> str | None:
    """A class's source found through its methods' code, for classes defined in notebook cells
    (before Python 3.13, inspect finds a class's source through its module's file, and a
    notebook's __main__ has none; the cell's text is in linecache under the methods' file name)."""
    import ast
    import linecache

    for fn in _methods(cls):
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ \
                    and node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
                return textwrap.dedent("".join(lines[start:node.end_lineno]))
    return None


def _referenced_names(obj: Any) -> set[str]:
    """Global names a function (or a class) refers to: the names its source reads (bodies,
    defaults, decorators, base classes, class attributes) that are not its own locals.

    Read from the source rather than `co_names`, which also holds attribute names: `self.model`
    must not make a notebook's global `model` part of the kata file."""
    import ast

    codes = [f.__code__ for f in _methods(obj)] if inspect.isclass(obj) else \
        [obj.__code__] if inspect.isfunction(obj) else []
    local: set[str] = set()
    globals_: set[str] = set()
    while codes:
        code = codes.pop()
        local.update(code.co_varnames, code.co_cellvars)
        globals_.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    try:
        tree = ast.parse(_source_of(obj))
    except (ValueError, SyntaxError):
        return globals_ | ({b.__name__ for b in obj.__bases__} if inspect.isclass(obj) else set())
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local


def _methods(cls: type) -> list[Any]:
    """The functions defined in a class's body, static and class methods unwrapped."""
    fns = [getattr(v, "__func__", v) for v in vars(cls).values()]
    return [f for f in fns if inspect.isfunction(f)]


def _globals_of(obj: Any) -> dict[str, Any]:
    if inspect.isclass(obj):
        fns = _methods(obj)
        return fns[0].__globals__ if fns else vars(inspect.getmodule(obj) or types.ModuleType("_"))
    return obj.__globals__


LITERALS = (int, float, complex, bool, str, bytes, type(None))
MAX_TENSOR = 10_000  # elements: a constant tensor larger than this is better built inside the function


def constant_source(value: Any) -> str | None:
    """`value` as a Python expression that rebuilds it in the kata file, or None when there is none."""
    import ast

    if isinstance(value, LITERALS) or isinstance(value, (tuple, list, dict, set, frozenset)):
        text = repr(value)
        try:
            return text if ast.literal_eval(text) == value else None
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            return None
    torch = __import__("sys").modules.get("torch")  # a tensor or dtype means torch is imported already
    if torch is None:
        return None
    if isinstance(value, (torch.dtype, torch.device)):
        return f"torch.{str(value).replace('torch.', '')}" if isinstance(value, torch.dtype) \
            else f"torch.device({str(value)!r})"
    if type(value) is torch.Tensor and value.numel() <= MAX_TENSOR and not value.requires_grad:
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return None  # repr of inf / nan is not source
        return f"torch.tensor({value.detach().cpu().tolist()!r}, dtype=torch.{str(value.dtype).replace('torch.', '')})"
    return None


def _collect(obj: Any, found: Globals, done: set[Any]) -> None:
    """Modules `obj` uses become imports; constants become assignments; functions and classes it
    uses from its own module are copied (and what they use, in turn); anything else is named in
    `found.uncarried`."""
    scope = _globals_of(obj)
    for name in sorted(_referenced_names(obj)):
        if name in PRELUDE_NAMES or name not in scope or name.startswith("__"):
            continue
        value = scope[name]
        if isinstance(value, types.ModuleType):
            line = f"import {value.__name__}" if value.__name__ == name else f"import {value.__name__} as {name}"
            if "." in value.__name__ and value.__name__ != name:
                parent, _, leaf = value.__name__.rpartition(".")
                line = f"from {parent} import {leaf}" + ("" if leaf == name else f" as {name}")
            found.imports.setdefault(name, line)
        elif (inspect.isfunction(value) or inspect.isclass(value)) and value not in done \
                and getattr(value, "__module__", None) == getattr(obj, "__module__", None):
            done.add(value)
            try:
                source = _source_of(value)
            except ValueError:
                found.uncarried[name] = f"a {'class' if inspect.isclass(value) else 'function'} whose source cannot be read"
                continue
            _collect(value, found, done)
            found.helpers.setdefault(name, source)
        elif inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
            module = getattr(value, "__module__", None)
            if value in done:
                continue
            if module and module != "__main__" and getattr(value, "__qualname__", "") == getattr(value, "__name__", ""):
                found.imports.setdefault(name, f"from {module} import {value.__name__}"
                                         + ("" if value.__name__ == name else f" as {name}"))
            else:
                found.uncarried[name] = f"a {type(value).__name__} with no importable module"
        elif name not in found.constants:
            text = constant_source(value)
            if text is None:
                found.uncarried[name] = f"a {type(value).__name__}, which cannot be written as source"
            else:
                found.constants[name] = f"{name} = {text}"
