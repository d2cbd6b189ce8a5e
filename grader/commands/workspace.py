"""`kata init`, `reset`, `solution`: make a workspace, restore a stub, show a reference. No torch."""
from __future__ import annotations

from pathlib import Path

import click

from grader import registry, render
from grader.commands._common import EXIT_FAIL, complete_kata, examples, kata_name, path_option, require_workspace
from grader.core import workspace
from grader.core.files import read_if_regular
from grader.core.state import State


@click.command(epilog=examples("kata init katas", "kata init ~/practice"))
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Create a workspace of fresh stubs in DIRECTORY (never overwrites a file)."""
    try:
        written = workspace.init(directory)
    except workspace.WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None
    con = render.console()
    con.print(f"Created {len(written)} stubs in {directory}: {', '.join(p.name for p in written)}")
    first = registry.names()[0]
    con.print(f"Next: {render.command(f'kata show {first}')}, edit {directory / registry.get(first).filename}, "
              f"then {render.command(f'kata grade {first}', directory)}.")


@click.command(epilog=examples("kata reset dpo", "kata reset dpo --path ~/ws"))
@click.argument("name", callback=kata_name, shell_complete=complete_kata)
@path_option
def reset(name: str, path: Path) -> None:
    """Restore NAME's stub; the current file is first saved to a timestamped backup.

    A file that is still the untouched stub is left as it is, and no backup is written.
    """
    require_workspace(path)
    kata = registry.get(name)
    target = workspace.kata_path(path, kata)
    con = render.console()
    if read_if_regular(target) == workspace.stub_source(kata).encode():  # bounded, never a FIFO or a device
        con.print(f"{target} is already the fresh stub: nothing to restore, no backup written.")
        return
    try:
        saved = workspace.reset(path, kata)
    except workspace.WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None
    if saved:
        con.print(f"Saved your {name}.py as {saved}")
    con.print(f"Restored the stub {target}")


@click.command(epilog=examples("kata solution dpo", "kata solution dpo --force"))
@click.argument("name", callback=kata_name, shell_complete=complete_kata)
@click.option("--force", is_flag=True, help="Show it even though NAME has not passed in the workspace.")
@path_option
@click.pass_context
def solution(ctx: click.Context, name: str, force: bool, path: Path) -> None:
    """The reference solution of NAME, once NAME has passed in the workspace (or with --force)."""
    kata = registry.get(name)
    if not (force or (path.is_dir() and State.load(path).get(name).status == "pass")):
        render.solution_locked(render.console(stderr=True), kata, str(path))
        ctx.exit(EXIT_FAIL)
    source_path = workspace.solution_path(kata)
    render.solution(render.console(), kata, source_path.read_text(), str(source_path))


COMMANDS = (init, reset, solution)
