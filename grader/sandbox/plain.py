"""The file format between the grader and its children: plain data and dense tensors, no pickle.

A child reports what it observed (outputs, gradients, errors, behaviour series) and the
grader sends it the kata's cases; both travel in this format:

    b"KATAPLN1"  8-byte little-endian length N  N bytes of UTF-8 JSON  the tensors' bytes

The JSON holds the data: null, booleans, numbers (NaN and infinities as Python's json writes
them), strings, lists, and dicts with string keys; everything else is a one-key object whose
key starts with NUL: a tuple, a dict with other keys, a tensor (an index into the JSON's
tensor table: dtype, sizes, strides, storage offset, and where its storage's bytes lie after
the JSON), a dtype, a device, a torch.Size, a complex number, or a `refused` value (something
that is not plain data, such as a tensor subclass, named so that the grader can say what it was).

Why not `torch.save`: reading it back safely needs torch's weights-only unpickler, which is
pure Python and takes 20-40 ms for the 100-200 small tensors of one child's results; this
reader takes a few. Nothing here can build an object other than those listed, so the grader
does not depend on an unpickler's allow-list either.

`loads` reads what a child wrote, so everything in it is checked before use: the header's
size, the JSON's depth and node count (grader.sandbox.untrusted's bounds), each tensor's dtype,
shape, strides and byte range, and the elements of all tensors together.
"""
from __future__ import annotations

import json
from typing import Any

from grader.sandbox.untrusted import (MAX_DEPTH, MAX_NODES, MAX_STRING, MAX_TOTAL_ELEMENTS, Untrusted, encodable,
                                      read_capped)

MAGIC = b"KATAPLN1"
TAG = "\x00"
ALIGN = 64  # each storage starts at a multiple of this in the data part
MAX_HEADER = 4 << 20  # bytes of JSON; an honest child's is tens of kB (errors on every case: a few hundred)

ITEM_SIZES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16, "uint8": 1,
              "int8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1}
DTYPES = tuple(ITEM_SIZES)


class NotPlain(Exception):
    """The child reported a value that is not plain data (a tensor subclass, an object): its type's name."""


# ------------------------------------------------------------------------------------- writing
def dumps(obj: Any) -> bytes:
    """`obj` (dicts, lists, tuples, str, int, float, complex, bool, None, tensors, dtypes,
    devices, sizes) in this format. Anything else is written as a `refused` value naming its
    type; tensors on another device are copied to the CPU, any layout of strides is kept."""
    import torch

    table: list[list[Any]] = []
    storages: list[torch.Tensor] = []
    size = 0

    def tensor(t: torch.Tensor) -> Any:
        nonlocal size
        if type(t) is not torch.Tensor:  # a subclass can lie through __eq__ or __torch_function__
            return {TAG + "refused": f"{type(t).__module__}.{type(t).__qualname__} (a torch.Tensor subclass)"}
        t = t.detach()
        if t.layout != torch.strided or t.is_quantized or str(t.dtype).removeprefix("torch.") not in DTYPES:
            return {TAG + "refused": f"tensor of layout {t.layout} and dtype {t.dtype}"}
        if t.device.type != "cpu":
            try:
                t = t.cpu()
            except Exception:  # a meta tensor has no data to send
                return {TAG + "refused": f"tensor on the {t.device.type} device"}
        t = t.resolve_conj().resolve_neg()
        if t.is_contiguous():
            # Its elements lie one after another from its offset; a dimension of size 1 may still
            # carry any stride (a column of a [1, 2] stack has stride (2,)), so not reshape(-1).
            data = t.as_strided((t.numel(),), (1,)).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
            sizes, strides, offset = list(t.shape), list(_contiguous_strides(t.shape)), 0
        else:  # a view keeps its layout: its whole storage goes, with the view's strides
            data = torch.empty(0, dtype=torch.uint8).set_(t.untyped_storage())
            sizes, strides, offset = list(t.shape), list(t.stride()), t.storage_offset()
        start = -(-size // ALIGN) * ALIGN
        size = start + data.numel()
        table.append([str(t.dtype).removeprefix("torch."), sizes, strides, offset, start, data.numel()])
        storages.append(data)
        return {TAG + "tensor": len(table) - 1}

    def encode(x: Any) -> Any:  # the child's results are built by the grader: a few levels deep
        # A subclass's value is taken by its base type's own method, never through the subclass
        # (the submission's): int(x) calls x.__int__, which may raise or lie (h13: a default of
        # `class Beta(int)` whose __int__ raises made the worker itself fail).
        if x is None or type(x) in (bool, str, float, int):
            return x
        if isinstance(x, bool):  # not reached: bool cannot be subclassed
            return bool.__bool__(x)
        if isinstance(x, int):  # an int subclass (an enum, a bool-like): its value
            return int.__index__(x)
        if isinstance(x, float):
            return float.__float__(x)
        if isinstance(x, str):
            return str.__str__(x)
        if isinstance(x, torch.Tensor):
            return tensor(x)
        if type(x) is torch.Size:
            return {TAG + "size": [int.__index__(d) for d in x]}
        if isinstance(x, torch.dtype):
            return {TAG + "dtype": str(x).removeprefix("torch.")}
        if isinstance(x, torch.device):
            return {TAG + "device": str(x)}
        if isinstance(x, complex):
            return {TAG + "complex": [complex.real.__get__(x), complex.imag.__get__(x)]}
        if type(x) is list:
            return [encode(v) for v in x]
        if type(x) is tuple:
            return {TAG + "tuple": [encode(v) for v in x]}
        if type(x) is dict:
            if all(type(k) is str and not k.startswith(TAG) for k in x):
                return {k: encode(v) for k, v in x.items()}
            return {TAG + "dict": [[encode(k), encode(v)] for k, v in x.items()]}
        return {TAG + "refused": f"{type(x).__module__}.{type(x).__qualname__}"}

    tree = encode(obj)
    header = json.dumps({"tree": tree, "tensors": table}, separators=(",", ":")).encode()
    head = MAGIC + len(header).to_bytes(8, "little") + header
    head += b"\0" * (-len(head) % ALIGN)
    size = -(-size // ALIGN) * ALIGN
    out = bytearray(len(head) + size)
    out[: len(head)] = head
    if size:
        whole = torch.frombuffer(out, dtype=torch.uint8)
        for (_, _, _, _, start, n), data in zip(table, storages):
            if n:
                whole[len(head) + start: len(head) + start + n].copy_(data)
    return bytes(out)


def dump(obj: Any, path: str) -> None:
    """Write `dumps(obj)` to `path` (created or truncated)."""
    data = dumps(obj)
    with open(path, "wb") as f:
        f.write(data)


def _where(path: Any) -> str:
    """A value's place in the results ("the top[3]['outputs']"), from its (parent, key) pairs."""
    keys = []
    while path is not None and len(keys) < 20:
        path, key = path
        keys.append(f"[{key!r}]" if isinstance(key, str) else f"[{key}]")
    return ("the top" + "".join(reversed(keys)))[:200]


def _contiguous_strides(shape: Any) -> list[int]:
    strides, step = [], 1
    for d in reversed(list(shape)):
        strides.append(step)
        step *= max(int(d), 1)
    return strides[::-1]


# ------------------------------------------------------------------------------------- reading
def load_result(path: str, cap: int, max_elements: int) -> Any:
    """A child's result file: a regular file of at most `cap` bytes (grader.sandbox.untrusted),
    read by `loads`. Raises FileNotFoundError, Untrusted or NotPlain.

    Every error of malformed data that `loads` did not foresee (a value Python cannot build,
    such as complex(10**400, 0): OverflowError) is the file's, not the grader's: it is raised
    as Untrusted too, so that one forged file cannot stop the judging of anyone else."""
    data = read_capped(path, cap)
    try:
        return loads(data, max_elements)
    except Untrusted as exc:
        raise Untrusted(f"they {exc}") from None
    except (ArithmeticError, ValueError, TypeError, LookupError, RecursionError) as exc:
        raise Untrusted(f"they hold a value that cannot be built ({type(exc).__name__}: {str(exc)[:100]})") from None


def load(path: str) -> Any:
    """A file the grader itself wrote (the cases, read by a child)."""
    with open(path, "rb") as f:
        return loads(f.read(), max_elements=1 << 62)


def loads(data: bytes, max_elements: int) -> Any:
    """The data `data` holds. Raises `Untrusted` (grader.sandbox.untrusted; its message completes
    "the results ...") for anything malformed or past the bounds, and `NotPlain` for a value
    the writer refused. Tensors are contiguous copies of their own (a case's layout is named in
    the case, grader.checks.cases.Case.layout, and made at each call)."""
    import torch

    if data[: len(MAGIC)] != MAGIC or len(data) < len(MAGIC) + 8:
        raise Untrusted("are not in the grader's results format (a file the child did not write through it)")
    n = int.from_bytes(data[len(MAGIC): len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    if n > MAX_HEADER or start + n > len(data):
        raise Untrusted(f"claim a header of {n} bytes in a file of {len(data)}")
    try:
        header = json.loads(data[start: start + n])
    except (ValueError, RecursionError) as exc:  # malformed JSON, bad UTF-8, nesting past the parser's stack
        raise Untrusted(f"are not readable ({type(exc).__name__}: {str(exc)[:100]})") from None
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list) or "tree" not in header:
        raise Untrusted("lack the tree and tensor table of the results format")
    body = start + n + (-(start + n) % ALIGN)
    whole = torch.frombuffer(bytearray(data[body:]), dtype=torch.uint8) if len(data) > body \
        else torch.empty(0, dtype=torch.uint8)
    whole = whole[: len(whole) - len(whole) % 16]  # viewable as any dtype; the writer pads to ALIGN
    table, built = header["tensors"], {}
    budget = {"nodes": 0, "elements": 0}

    def tensor(i: Any, path: Any) -> Any:
        if type(i) is not int or not 0 <= i < len(table):
            raise Untrusted(f"refer to a tensor that is not in their table at {_where(path)}")
        entry = table[i]
        if not (isinstance(entry, list) and len(entry) == 6 and entry[0] in DTYPES
                and all(isinstance(v, list) and all(type(d) is int and 0 <= d < 2**62 for d in v) for v in entry[1:3])
                and len(entry[1]) == len(entry[2]) <= 16 and all(type(v) is int and 0 <= v < 2**62 for v in entry[3:])):
            raise Untrusted(f"describe a tensor malformedly at {_where(path)}")
        dtype_name, sizes, strides, offset, begin, length = entry
        numel = 1
        for d in sizes:
            numel *= d
        budget["elements"] += numel
        if numel > max_elements or budget["elements"] > MAX_TOTAL_ELEMENTS:
            raise Untrusted(f"hold a tensor of shape {tuple(sizes)} at {_where(path)}, larger than anything this kata's "
                            f"inputs can give ({max_elements} elements at most)")
        if i not in built:
            dtype = getattr(torch, dtype_name)
            item = ITEM_SIZES[dtype_name]
            if begin + length > len(whole) or length % item or begin % item:
                raise Untrusted(f"place a tensor's bytes outside the file at {_where(path)}")
            if numel and offset + sum((d - 1) * s for d, s in zip(sizes, strides)) >= length // item:
                raise Untrusted(f"describe a tensor that reaches past its storage at {_where(path)}")
            try:
                view = whole.view(dtype).as_strided(sizes, strides, begin // item + offset) if length else \
                    torch.empty(sizes, dtype=dtype)
                built[i] = view.clone(memory_format=torch.contiguous_format)
            except (RuntimeError, ValueError) as exc:  # not expected after the checks above; still the child's doing
                raise Untrusted(f"describe a tensor torch cannot build at {_where(path)} ({str(exc)[:100]})") from None
        return built[i]

    def leaf(x: Any, path: Any) -> Any:
        if x is None or isinstance(x, (bool, float)):
            return x
        if isinstance(x, int):
            if not -2**63 <= x < 2**63:
                raise Untrusted(f"hold an integer out of range at {_where(path)}")
            return x
        if isinstance(x, str):
            if len(x) > MAX_STRING:
                raise Untrusted(f"hold a string of {len(x)} characters at {_where(path)}")
            return encodable(x)  # a lone surrogate ("\\ud800") would stop every writer of the report
        raise Untrusted(f"hold a {type(x).__name__} at {_where(path)}")  # not reached: JSON has no other scalars

    def tagged(tag: str, v: Any, path: Any) -> Any:
        if tag == "tensor":
            return tensor(v, path)
        if tag == "refused":
            raise NotPlain(v[:200] if isinstance(v, str) else "value of an unnamed type")
        if tag == "dtype" and v in DTYPES:
            return getattr(torch, v)
        if tag == "device" and isinstance(v, str) and len(v) < 64:
            try:
                return torch.device(v)
            except (RuntimeError, ValueError):
                pass
        if tag == "size" and isinstance(v, list) and len(v) <= 16 and all(type(d) is int and 0 <= d < 2**62 for d in v):
            return torch.Size(v)
        if tag == "complex" and isinstance(v, list) and len(v) == 2 and all(type(p) is float or type(p) is int
                                                                            and -2**63 <= p < 2**63 for p in v):
            return complex(*v)
        raise Untrusted(f"hold a malformed {tag!r} value at {_where(path)}"[:300])

    root: list[Any] = [None]
    # Paths are kept as (parent path, key) pairs and written out only for a message: a header
    # of millions of values must cost no more than reading it once.
    stack: list[tuple[Any, Any, Any, int, Any]] = [(header["tree"], root, 0, 0, None)]

    def grow(n: int, where: Any) -> None:
        budget["nodes"] += n
        if budget["nodes"] > MAX_NODES:
            raise Untrusted(f"hold more than {MAX_NODES} values (at {_where(where)})"[:300])

    while stack:
        x, parent, key, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise Untrusted(f"nest deeper than {MAX_DEPTH} levels at {_where(path)}"[:300])
        if isinstance(x, dict) and len(x) == 1 and next(iter(x)).startswith(TAG):
            tag, v = next(iter(x.items()))
            tag = tag[1:]
            if tag in ("tuple", "dict"):
                if not isinstance(v, list):
                    raise Untrusted(f"hold a malformed {tag!r} value at {_where(path)}"[:300])
                grow(len(v), path)
                if tag == "tuple":
                    copy: Any = _TupleSlot([None] * len(v))
                    stack.extend((item, copy, i, depth + 1, (path, i)) for i, item in enumerate(v))
                else:
                    copy = {}
                    for pair in v:
                        if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)
                                and not (type(pair[0]) is str and len(pair[0]) > 1000)):
                            raise Untrusted(f"hold a dict key that is not a short string or an integer at "
                                            f"{_where(path)}"[:300])
                        copy[leaf(pair[0], path)] = None
                        stack.append((pair[1], copy, pair[0], depth + 1, (path, pair[0])))
            else:
                copy = tagged(tag, v, path)
        elif isinstance(x, dict):
            grow(len(x), path)
            copy = {}
            for k, v in x.items():
                if len(k) > 1000:
                    raise Untrusted(f"hold a dict key that is not a short string or an integer at {_where(path)}"[:300])
                k = encodable(k)
                copy[k] = None
                stack.append((v, copy, k, depth + 1, (path, k)))
        elif isinstance(x, list):
            grow(len(x), path)
            copy = [None] * len(x)
            stack.extend((v, copy, i, depth + 1, (path, i)) for i, v in enumerate(x))
        else:
            copy = leaf(x, path)
        parent[key] = copy
    return _freeze(root[0])


class _TupleSlot(list):
    """A tuple being filled in (tuples are immutable); turned into a tuple by _freeze."""


def _freeze(x: Any) -> Any:
    """Turn every _TupleSlot into a tuple, bottom-up, without recursion."""
    order, stack = [], [x]
    while stack:  # collect containers, parents before children
        c = stack.pop()
        if isinstance(c, (dict, list)):
            order.append(c)
            stack.extend(v for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, (dict, list)))
    for c in reversed(order):  # children first
        items = c.items() if isinstance(c, dict) else enumerate(c)
        for k, v in list(items):
            if isinstance(v, _TupleSlot):
                c[k] = tuple(v)
    return tuple(x) if isinstance(x, _TupleSlot) else x
