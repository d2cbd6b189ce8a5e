"""What the commands share: exit codes, argument callbacks (kata names with suggestions and
shell completion), the workspace option, the sandbox's options. No torch.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import click
from click.core import ParameterSource
from click.shell_completion import CompletionItem

from grader import registry
from grader.core import tolerances as tol, workspace
from grader.core.files import is_source

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_GRADER_FAULT = 3  # the grader's own code failed (grader.core.faults): a bug to report, no verdict


def exit_code(reports: list[Any]) -> int:
    """3 when the grader failed on any kata (its verdict is missing), else 0 when all pass, else 1."""
    if any(r.grader_faults for r in reports):
        return EXIT_GRADER_FAULT
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAIL


def write_files(cohort: Any, outputs: list[tuple[Path | None, Callable[[Any, Path], None]]]) -> bool:
    """Each file asked for, written by its writer (grader.practice.export); one that cannot be
    written is a message on stderr, never the loss of the report. True when all were written."""
    from grader import render

    written = True
    for out, write in outputs:
        if out is not None:
            try:
                write(cohort, out)
            except OSError as exc:
                render.error(render.console(stderr=True), f"could not write {out}: {exc.strerror or exc}")
                written = False
    return written


def writable(*files: Path | None) -> None:
    """Each output file's folder exists: checked before grading, so no run is lost to a typo."""
    for out in files:
        try:
            folder = out.resolve().parent if out is not None else None
        except (OSError, RuntimeError):  # a link loop
            raise click.UsageError(f"cannot write '{out}': it is a loop of symbolic links.") from None
        if folder is not None and not folder.is_dir():
            raise click.UsageError(f"cannot write '{out}': its folder does not exist.")
        if out is not None and is_source(out):  # a kata file named by mistake would be overwritten
            raise click.UsageError(f"cannot write '{out}': it is a Python source file (a kata file or a helper "
                                   "module?); output files are never .py: name another file.")


# ------------------------------------------------------------------ kata names
def _suggestion(ctx: click.Context, value: str) -> str:
    """A runnable command for a name that is a file path (`katas/dpo.py`) or in the wrong case (`DPO`)."""
    candidate = Path(value)
    stem = candidate.stem if candidate.suffix == ".py" else candidate.name
    name = stem if stem in registry.KATAS else stem.lower() if stem.lower() in registry.KATAS else None
    if name is None:
        return ""
    command = f"kata {ctx.info_name} {name}" if ctx.info_name else f"kata ... {name}"
    folder = candidate.parent if candidate.suffix == ".py" else Path(".")
    if str(folder) not in (".", "katas"):
        command += f" --path {folder}"
    return f" A kata is named by its name alone, in lower case: `{command}`."


def kata_name(ctx: click.Context, param: click.Parameter | None, value: str) -> str:
    try:
        return registry.get(value).name
    except registry.UnknownKata as exc:
        from grader.render.base import sanitize

        hint = _suggestion(ctx, value)  # the name is the command line's: escapes shown defused
        raise click.BadParameter(sanitize(f"unknown kata '{value}'.{hint}" if hint else str(exc), one_line=True)) from None


def kata_names(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(kata_name(ctx, param, v) for v in values)) or registry.names()  # once each, in order


def optional_kata(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else kata_name(ctx, param, value)


def complete_kata(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of kata names (click's mechanism: `_KATA_COMPLETE=bash_source kata`)."""
    return [CompletionItem(k.name, help=k.summary) for k in registry.KATAS.values() if k.name.startswith(incomplete)]


# ------------------------------------------------------------------ the workspace
def looks_like_workspace(folder: Path) -> bool:
    """A folder with the grader's progress (.kata/) or a kata file: `kata grade` run from inside one."""
    return (folder / ".kata").is_dir() or any((folder / k.filename).is_file() for k in registry.KATAS.values())


def _path(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """The default `katas` when it exists; else the current folder when it is a workspace itself."""
    if ctx.get_parameter_source(param.name or "path") is ParameterSource.DEFAULT and not value.is_dir() \
            and looks_like_workspace(Path(".")):
        return Path(".")
    return value


path_option = click.option("--path", "path", type=click.Path(path_type=Path), default=workspace.DEFAULT,
                           show_default=True, callback=_path,
                           help="The workspace: a folder with one NAME.py per kata (the current folder when "
                                "it is one and ./katas is not there).")


def require_workspace(path: Path) -> Path:
    try:
        return workspace.require_workspace(path)
    except workspace.WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None


# ------------------------------------------------------------------ grading options
class Within(click.ParamType):
    """A number in `bounds` (grader.core.tolerances): NaN, infinities and out-of-range values are
    usage errors here, not failures of the submission later."""

    def __init__(self, kind: type, bounds: tuple[float, float]) -> None:
        self.kind, self.bounds = kind, bounds
        self.name = kind.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return tol.parse_within(self.kind, self.bounds, value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def sandbox_options(what: str = "kata") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--seed, --timeout, --device and --memory-mb, the same on every command that grades."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((
            click.option("--seed", type=Within(int, tol.SEED_RANGE), default=None,
                         help="Seed of the random inputs; a report names its seed to reproduce it."),
            click.option("--timeout", type=Within(float, tol.TIMEOUT_RANGE), default=10.0, show_default=True,
                         help=f"Wall-clock seconds per {what}."),
            click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                         help="auto: also compare CUDA with the CPU when CUDA is present."),
            click.option("--memory-mb", type=Within(int, tol.MEMORY_MB_RANGE), default=2048, show_default=True,
                         help="Memory a submission may allocate on top of torch itself."),
        )):
            fn = option(fn)
        return fn
    return decorate


def new_seed(seed: int | None) -> int:
    return seed if seed is not None else int.from_bytes(os.urandom(3), "big")


def check_device(device: str) -> None:
    """--device cuda without CUDA is a usage error (imports torch: call it while grading)."""
    from grader.core import engine

    if device == "cuda" and not engine.cuda_available():
        raise click.UsageError("--device cuda: CUDA is not available on this machine.")


def examples(*lines: str) -> str:
    """A command's --help epilog: examples, one a line, never rewrapped."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
