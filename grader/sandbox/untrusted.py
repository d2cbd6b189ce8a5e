"""Reading what a sandboxed child leaves behind (its result file, its log): untrusted data.

A child can replace either file with a FIFO (a plain `open` would wait forever), a link to
/dev/zero (read until memory runs out), a directory, or a result whose contents are built to
hurt the reader: a nested list shared with itself so that printing it never ends, numbers
such as `inf` where a count belongs, tensors that are stride-0 views claiming 2**26 elements
each. So every file is opened with O_NOFOLLOW | O_NONBLOCK, must be a regular file under a
size cap, and what it holds is walked once, with bounded depth and node count, before
anything else reads it. Tensors are checked against a size bound derived from the kata's own
inputs and copied out (materialised) only once they pass. Torch is imported only to load.
"""
from __future__ import annotations

import io
import os
import stat
from typing import Any

O_UNTRUSTED = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
MAX_DEPTH = 32  # nesting of containers in an honest result: about 6
MAX_NODES = 200_000  # containers, strings, numbers and tensors visited (shared ones once per path)
MAX_STRING = 64 << 10  # characters in one string (messages, output tails)
MAX_TOTAL_ELEMENTS = 1 << 25  # tensor elements in one result, all tensors together (256 MB of float64)


class Untrusted(Exception):
    """Why a child's file or data cannot be used; the message completes "the results ...".""" 


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return word
    return "not a regular file"


def open_regular(path: str, follow: bool = False) -> tuple[int, os.stat_result]:
    """An fd on `path`, which must be a regular file: never blocks, never follows a last-component
    link unless `follow`. Raises FileNotFoundError, or Untrusted saying what the path is instead."""
    flags = O_UNTRUSTED & ~os.O_NOFOLLOW if follow else O_UNTRUSTED
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symbolic link
            raise Untrusted(f"{path} is a symbolic link") from None
        raise Untrusted(f"{path} cannot be opened: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Untrusted(f"{path} is {kind(st.st_mode)}, not a regular file")
    return fd, st


def read_capped(path: str, cap: int, follow: bool = False) -> bytes:
    """The bytes of regular file `path`, refused (Untrusted) when it holds more than `cap`."""
    fd, st = open_regular(path, follow)
    try:
        if st.st_size > cap:
            raise Untrusted(f"{path} is {st.st_size / 2**20:.1f} MB; at most {cap / 2**20:.0f} MB is read")
        chunks, total = [], 0
        while True:  # the size may grow while we read: read to the cap and no further
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise Untrusted(f"{path} grew past {cap / 2**20:.0f} MB while it was read")
    finally:
        os.close(fd)


def read_tail(path: str, limit: int = 2000) -> tuple[int, str]:
    """(size, the last `limit` bytes as text) of a child's log; (0, "") when it is unusable."""
    try:
        fd, st = open_regular(path)
    except (OSError, Untrusted):
        return 0, ""
    try:
        os.lseek(fd, max(0, st.st_size - limit), os.SEEK_SET)
        return st.st_size, os.read(fd, limit).decode("utf-8", "replace")
    except OSError:
        return 0, ""
    finally:
        os.close(fd)


def load_result(path: str, cap: int, max_elements: int) -> Any:
    """The child's result file, loaded as plain tensors and data (`weights_only`), walked and
    materialised. Raises FileNotFoundError, Untrusted, or what `torch.load` raises for
    anything that is not plain data (the caller names it)."""
    import torch

    data = read_capped(path, cap)
    result = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    try:
        return materialise(result, max_elements)
    except Untrusted as exc:
        raise Untrusted(f"they {exc}") from None


def materialise(obj: Any, max_elements: int) -> Any:
    """A copy of `obj` made of dicts, lists, tuples, str, int, float, bool, None and dense CPU
    tensors of at most `max_elements` elements each, every tensor its own contiguous copy.
    Raises Untrusted for anything else, for nesting past MAX_DEPTH, more than MAX_NODES
    nodes (a list shared with itself counts once per path), or more than MAX_TOTAL_ELEMENTS
    tensor elements in all. Iterative: no recursion limit is involved."""
    import torch

    budget = {"nodes": 0, "elements": 0}

    def leaf(x: Any, where: str) -> Any:
        if x is None or isinstance(x, (bool, float, complex)):
            return x
        if isinstance(x, int):
            if not -2**63 <= x < 2**63:
                raise Untrusted(f"hold an integer out of range at {where}")
            return int(x)
        if isinstance(x, str):
            if len(x) > MAX_STRING:
                raise Untrusted(f"hold a string of {len(x)} characters at {where}")
            return str(x)
        if isinstance(x, torch.Tensor):
            if x.layout != torch.strided or x.is_quantized or type(x) is not torch.Tensor:
                raise Untrusted(f"hold a tensor that is not a plain dense tensor at {where}")
            n = x.numel()
            budget["elements"] += n
            if n > max_elements or budget["elements"] > MAX_TOTAL_ELEMENTS:
                raise Untrusted(f"hold a tensor of shape {tuple(x.shape)} at {where}, larger than anything "
                                f"this kata's inputs can give ({max_elements} elements at most)")
            return x.detach().clone(memory_format=torch.contiguous_format)
        if isinstance(x, torch.dtype | torch.device):
            return x
        raise Untrusted(f"hold a {type(x).__name__} at {where}")

    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int, str]] = [(obj, root, 0, 0, "the top")]  # (value, parent, key, depth, where)
    while stack:
        x, parent, key, depth, where = stack.pop()
        budget["nodes"] += 1
        if budget["nodes"] > MAX_NODES:
            raise Untrusted(f"hold more than {MAX_NODES} values (a structure that refers to itself?)")
        if depth > MAX_DEPTH:
            raise Untrusted(f"nest deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(x, dict):
            copy: Any = {}
            for k, v in x.items():
                if not isinstance(k, (str, int)) or isinstance(k, str) and len(k) > 1000:
                    raise Untrusted(f"hold a dict key that is not a short string or an integer at {where}")
                copy[k] = None
                stack.append((v, copy, k, depth + 1, f"{where}[{k!r}]"[:200]))
        elif isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
            copy = (_TupleSlot if isinstance(x, tuple) else list)([None] * len(x))
            stack.extend((v, copy, i, depth + 1, f"{where}[{i}]"[:200]) for i, v in enumerate(x))
        elif isinstance(x, torch.Size):
            copy = torch.Size(leaf(int(d), where) for d in x)
        else:
            copy = leaf(x, where)
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
