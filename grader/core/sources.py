"""A workspace's files on their way to a sandboxed child, checked once and copied once. No torch.

The grader reads each kata file a single time (never a FIFO, a device, a folder, a link out of
the workspace or a file over the size cap: grader.core.files.read_workspace_file), parses those
bytes for the static checks, and hands the child a copy of the same bytes. The workspace's
other Python files (its helper modules) are checked the same way and copied once per workspace
into a folder every child of that workspace imports from, not once per kata.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from grader import registry
from grader.core import files, workspace
from grader.core.kata import Kata
from grader.core.results import KataResult
from grader.sandbox import untrusted
from grader.sandbox.pool import Limits


@dataclass
class Source:
    """Where one kata's code comes from, and what was found before running it."""

    kata: Kata
    path: Path
    problem: KataResult | None = None  # decided without running (missing file, syntax error, refused import)
    data: bytes = b""  # the file as read and checked once: what is parsed is what the child runs


# Packages a submission may not import: what they hold computes the answer for it.
REFUSED_IMPORTS = {"solutions": "the reference solutions",
                   "grader": "the grader's own code (its catalogue holds each kata's formula)"}
# A workspace's helper modules, copied once per run: more than this is that workspace's error
# (links to one large helper would otherwise fill the temporary folder for everyone).
HELPER_FILES = 256
HELPER_BYTES = 16 << 20


def read_source(kata: Kata, ws: Path | None, cap: int) -> Source:
    """Where `kata`'s code is in workspace `ws` (None: the reference solutions), checked without running it."""
    reference = ws is None
    path = workspace.solution_path(kata) if reference else workspace.kata_path(ws, kata)
    if not os.path.lexists(path):
        return Source(kata, path, KataResult(kata.name, "error", message=f"{path} does not exist. "
                                             f"`kata reset {kata.name} --path {ws}` writes a fresh stub."))
    try:
        data = path.read_bytes() if reference else files.read_workspace_file(path, ws, cap)  # type: ignore[arg-type]
    except (OSError, untrusted.Untrusted) as exc:
        why = str(exc) if isinstance(exc, untrusted.Untrusted) else f"{path.name} cannot be read: {exc.strerror}"
        return Source(kata, path, KataResult(kata.name, "error", message=f"{why}; the grader grades only regular "
                                             f"files of the workspace (at most {cap >> 20} MB). Nothing was run."))
    try:  # the bytes, as import reads them: a UTF-8 BOM or a coding line decides the encoding
        tree = ast.parse(data, filename=str(path))
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
        lineno, msg = getattr(exc, "lineno", None), getattr(exc, "msg", str(exc))
        line = (getattr(exc, "text", None) or "").rstrip()
        return Source(kata, path, KataResult(kata.name, "error", message=f"{path}:{lineno}: SyntaxError: {msg}"
                                             + (f"\n    {line}" if line else "")))
    refused = None if reference else refused_import(tree)
    if refused:
        return Source(kata, path, KataResult(kata.name, "error", message=f"{path}:{refused}"))
    return Source(kata, path, data=data)


def refused_import(tree: ast.AST) -> str:
    """'LINE: refused: ...' for the first import of a package in REFUSED_IMPORTS, else ""."""
    for node in ast.walk(tree):
        mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        refused = next((m.split(".")[0] for m in mods if m.split(".")[0] in REFUSED_IMPORTS), None)
        if refused:
            return (f"{node.lineno}: refused: the submission imports {REFUSED_IMPORTS[refused]}. Write your own "
                    "implementation; `kata hint` helps, `kata solution` shows the reference once you pass.")
    return ""


def shared_modules(ws: Path | None, folder: Path, row: list[Source], cap: int) -> Path | None:
    """The workspace's Python files, checked and copied once into `folder`, which every child of the
    workspace has on its import path after its own (they are its helper modules). A helper that is
    not a regular file of the workspace under `cap` makes every kata of the workspace an error
    saying so (any of them may import it); an unusable kata file is left out (its own kata says
    why), and so are names Python could not import (an editor's lock link `.#dpo.py`) and folders."""
    if ws is None:
        return None

    def refuse(message: str) -> None:
        for s in row:
            if s.problem is None:
                s.problem = KataResult(s.kata.name, "error", message=message)

    kata_files = {k.filename for k in registry.KATAS.values()}
    try:
        folder.mkdir(parents=True)
        entries = sorted(os.scandir(ws), key=lambda e: e.name)
    except OSError as exc:
        refuse(f"the grader could not list or copy the workspace's modules ({exc}). Nothing was run.")
        return folder
    count = size = 0
    for e in entries:
        stem = e.name[:-3]
        if not e.name.endswith(".py") or not stem.isidentifier() or _is_folder(e):
            continue
        count += 1
        if count > HELPER_FILES:
            refuse(f"the workspace holds more than {HELPER_FILES} Python files; the grader offers each to the "
                   "submission as a module and copies it for the run. Move the others out. Nothing was run.")
            break
        try:
            data = files.read_workspace_file(Path(e.path), ws, cap)
        except (OSError, untrusted.Untrusted) as exc:
            if e.name in kata_files:  # another kata's file: that kata's own error when it is graded
                continue
            why = str(exc) if isinstance(exc, untrusted.Untrusted) else f"{e.name} cannot be read: {exc.strerror}"
            refuse(f"the workspace's module {why}. The grader offers every .py file of the workspace to the "
                   f"submission as a module, and grades only regular files (at most {cap >> 20} MB); remove or "
                   "rename it. Nothing was run.")
            continue
        try:  # a helper that does not parse cannot be imported either: the import says why
            refused = "" if e.name in kata_files else refused_import(ast.parse(data))
        except (SyntaxError, ValueError):
            refused = ""
        if refused:  # a helper module may not do what the kata file may not
            refuse(f"the workspace's module {e.name}:{refused}")
            break
        size += len(data)
        if size > HELPER_BYTES:
            refuse(f"the workspace's Python files hold more than {HELPER_BYTES >> 20} MB; the grader offers each "
                   "to the submission as a module and copies it for the run. Move the large ones out. Nothing was run.")
            break
        try:
            (folder / e.name).write_bytes(data)
        except OSError as exc:  # the grader's own write (a full temporary folder)
            refuse(f"the grader could not copy the workspace's module {e.name} to {folder} ({exc.strerror or exc}). "
                   "Nothing was run.")
    return folder


def _is_folder(entry: os.DirEntry) -> bool:
    """A folder (or a link to one); False for what cannot be told (a link loop: read next, refused there)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def private_copy(path: Path, folder: Path, filename: str, data: bytes | None = None,
                 cap: int = Limits.source_cap) -> None:
    """Put `data` (or `path`'s bytes) in `folder` as `filename`: a child runs from there, so it can
    delete or rewrite its file freely. Without `data`, the other Python files beside `path`
    (the workspace's helpers) are copied too, each only if it is a regular file under `cap`."""
    folder.mkdir(parents=True)
    if data is None:
        for p in path.parent.glob("*.py"):
            try:
                (folder / p.name).write_bytes(files.read_workspace_file(p, path.parent, cap))
            except (OSError, untrusted.Untrusted):
                continue  # a dangling link (emacs's lock file .#NAME.py), a folder, a FIFO: not a helper
        data = files.read_workspace_file(path, path.parent, cap)
    (folder / filename).write_bytes(data)
