"""`kata watch`: re-grade on every save, show the verdict first, move on when a kata passes."""
from __future__ import annotations

from pathlib import Path

import click

from grader import registry, render
from grader.commands._common import (EXIT_OK, complete_kata, examples, new_seed, optional_kata, path_option,
                                     require_workspace, sandbox_options)
from grader.core.state import State


@click.command(epilog=examples("kata watch", "kata watch dpo", "kata watch --path ~/ws --verbose"))
@click.argument("name", required=False, callback=optional_kata, shell_complete=complete_kata)
@path_option
@click.option("--verbose", "-v", is_flag=True, help="The full report on every grade: every check, all output, every frame of a traceback.")
@sandbox_options("grade")
@click.pass_context
def watch(ctx: click.Context, name: str | None, path: Path, verbose: bool, seed: int | None, timeout: float,
          device: str, memory_mb: int) -> None:
    """Re-grade on every save; when a kata passes, move on to the next unfinished one.

    Starts with NAME, or the first kata not passed yet. Each grade shows a compact report
    (the failing checks and their messages, the passing ones on one line) ending with the
    verdict; a save during a grade cancels it and grades the new version. Ctrl-C stops.
    """
    require_workspace(path)
    from grader.practice import watch as watching
    from grader.sandbox.pool import Limits, Sandbox

    con = render.console()
    seed = new_seed(seed)
    state = State.load(path)  # an unusable state file is moved aside here: say where it went
    if state.notice:
        render.notice(con, state.notice)
    start = name or watching.first_unfinished(path)
    grader = watching.WorkspaceGrader(path, Sandbox.start(), seed, Limits(timeout=timeout, memory_mb=memory_mb),
                                      device=device)  # torch loads meanwhile
    try:
        if device == "cuda":
            from grader.commands._common import check_device

            check_device(device)
        render.watch_start(con, str(path), start, seed)
        for step in watching.watch(path, start, grader):
            render.watch_step(con, step, watching.kata_paths(path), verbose=verbose, ws=str(path))
    except KeyboardInterrupt:
        pass
    finally:
        grader.close()
    state = State.load(path)
    render.watch_goodbye(con, sum(state.get(n).status == "pass" for n in registry.names()), len(registry.KATAS))
    ctx.exit(EXIT_OK)


COMMANDS = (watch,)
