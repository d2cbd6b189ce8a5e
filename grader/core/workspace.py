"""A workspace is a folder of kata files, one `NAME.py` per kata. No torch here.

Stubs are derived from the reference solutions: the same file with the body of each
entry point replaced by `# TODO` and `raise NotImplementedError`, so the stub and the
solution always share one signature and one docstring.
"""
from __future__ import annotations

import ast
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader import registry
from grader.core.files import atomic_write, backup, backup_name, read_if_regular
from grader.core.kata import Kata

DEFAULT = Path("katas")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTIONS = PACKAGE_ROOT / "solutions"
STUB_MARKER = "# TODO: implement"


class WorkspaceError(Exception):
    """A workspace problem the user can fix; the message says how."""


def solution_path(kata: Kata) -> Path:
    return SOLUTIONS / kata.filename


def kata_path(workspace: Path, kata: Kata) -> Path:
    return Path(workspace) / kata.filename


def require_workspace(workspace: Path) -> Path:
    ws = Path(workspace)
    if not ws.is_dir():
        raise WorkspaceError(f"no workspace at '{ws}'. Create one with `kata init {ws}`, "
                             "or point at an existing one with --path DIR.")
    return ws


# ------------------------------------------------------------------ stubs
def _entry_nodes(tree: ast.Module, kata: Kata) -> list[ast.FunctionDef]:
    """The functions whose bodies the candidate writes: entry functions, and every method of entry classes."""
    nodes: list[ast.FunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in kata.entry:
            nodes.append(node)
        elif isinstance(node, ast.ClassDef) and node.name in kata.entry:
            nodes.extend(n for n in node.body if isinstance(n, ast.FunctionDef))
    return nodes


def _keeps_super_init(stmt: ast.stmt) -> bool:
    """`super().__init__(...)`: kept in a stub, since an nn.Module's attributes need it first."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__" \
        and isinstance(call.func.value, ast.Call) and isinstance(call.func.value.func, ast.Name) \
        and call.func.value.func.id == "super"


def stub_source(kata: Kata) -> str:
    """The stub for `kata`: the reference file with each entry point's body replaced."""
    source = solution_path(kata).read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    # Replace bodies bottom-up so earlier line numbers stay valid.
    for fn in sorted(_entry_nodes(tree, kata), key=lambda n: n.lineno, reverse=True):
        body = fn.body
        has_doc = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str)
        first = body[1] if has_doc and len(body) > 1 else (None if has_doc else body[0])
        if first is None:
            continue
        start = body[0].end_lineno if has_doc else first.lineno - 1  # drop comments after the docstring too
        if _keeps_super_init(first) and first is not body[-1]:
            start = first.end_lineno
            first = body[body.index(first) + 1]
        end = body[-1].end_lineno or body[-1].lineno
        indent = " " * first.col_offset
        lines[start:end] = [f"{indent}{STUB_MARKER}\n", f"{indent}raise NotImplementedError\n"]
    # Imports stay: the candidate will need them.
    return "".join(lines)


def is_stub(path: Path, kata: Kata) -> bool:
    """True when every entry point still only raises NotImplementedError (no torch, no import)."""
    data = read_if_regular(path)  # a FIFO or a device in the workspace must not hang `kata list`
    if data is None:
        return False
    try:
        tree = ast.parse(data.decode("utf-8", "replace"))
    except (SyntaxError, ValueError):
        return False
    nodes = _entry_nodes(tree, kata)
    if not nodes:
        return False
    for fn in nodes:
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(getattr(s, "value", None), ast.Constant))
                and not _keeps_super_init(s)]
        if not (len(body) == 1 and isinstance(body[0], ast.Raise) and _names_not_implemented(body[0])):
            return False
    return True


def _names_not_implemented(node: ast.Raise) -> bool:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


@dataclass
class FileState:
    kata: Kata
    path: Path
    state: str  # "missing" | "stub" | "edited"


def file_states(workspace: Path) -> list[FileState]:
    out = []
    for kata in registry.KATAS.values():
        p = kata_path(workspace, kata)
        state = "missing" if not p.exists() else ("stub" if is_stub(p, kata) else "edited")
        out.append(FileState(kata, p, state))
    return out


# ------------------------------------------------------------------ init / reset
def init(workspace: Path) -> list[Path]:
    """Create a workspace of fresh stubs. Refuses to overwrite any existing kata file."""
    ws = Path(workspace)
    existing = [kata_path(ws, k) for k in registry.KATAS.values() if kata_path(ws, k).exists()]
    if existing:
        raise WorkspaceError(
            f"'{ws}' already has {', '.join(p.name for p in existing)}; nothing was written. "
            "`kata reset NAME --path DIR` restores one stub (after backing up the file), "
            "or choose an empty folder.")
    written = []
    try:
        ws.mkdir(parents=True, exist_ok=True)
        for kata in registry.KATAS.values():
            p = kata_path(ws, kata)
            atomic_write(p, stub_source(kata))
            written.append(p)
    except OSError as exc:
        done = f" ({len(written)} stubs were written before it)" if written else "; nothing was written"
        raise WorkspaceError(f"cannot make a workspace at '{ws}': {exc.strerror or exc}{done}.") from None
    return written


def reset(workspace: Path, kata: Kata) -> Path | None:
    """Restore `kata`'s stub; the current file is first saved to a timestamped backup, returned."""
    ws = require_workspace(workspace)
    p = kata_path(ws, kata)
    saved = None
    try:
        if os.path.lexists(p):
            if stat.S_ISREG(os.lstat(p).st_mode):
                saved = backup(p)
            else:  # a link, a folder, a FIFO: moved aside as it is, never read (a FIFO would block)
                saved = p.with_name(backup_name(p))
                os.rename(p, saved)
        atomic_write(p, stub_source(kata))
    except OSError as exc:
        raise WorkspaceError(f"cannot restore {p}: {exc.strerror or exc}"
                             + (f"; your file was saved as {saved}." if saved else "; nothing was changed.")) from None
    return saved
