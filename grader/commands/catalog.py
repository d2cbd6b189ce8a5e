"""`kata list`, `show`, `hint`, `next`: the catalogue and the workspace's progress. Never imports torch."""
from __future__ import annotations

from pathlib import Path

import click

from grader import registry, render
from grader.commands._common import complete_kata, examples, kata_name, path_option
from grader.core import workspace
from grader.core.progress import standings
from grader.core.state import State


@click.command("list", epilog=examples("kata list", "kata list --path ~/candidates/alice"))
@path_option
def list_(path: Path) -> None:
    """Every kata, its status in the workspace, and the hints used.

    A status is the last grade's, re-checked against the file: a file changed since it was
    graded says "edited after pass" (or fail) until it is graded again.
    """
    state = State.load(path) if path.is_dir() else None
    rows = standings(path, state)
    con = render.console()
    if state and state.notice:
        render.notice(con, state.notice)
    if not path.is_dir():
        render.notice(con, f"no workspace at '{path}' yet: `kata init {path}` creates one.")
    render.kata_list(con, rows)


@click.command(epilog=examples("kata show dpo"))
@click.argument("name", callback=kata_name, shell_complete=complete_kata)
def show(name: str) -> None:
    """The problem statement, the signature, and what the grader checks."""
    render.kata_show(render.console(), registry.get(name))


@click.command(epilog=examples("kata hint dpo", "kata hint dpo --all", "kata hint dpo --path ~/ws"))
@click.argument("name", callback=kata_name, shell_complete=complete_kata)
@click.option("--all", "show_all", is_flag=True, help="Show every hint level at once.")
@path_option
def hint(name: str, show_all: bool, path: Path) -> None:
    """Reveal the next hint level: concept, then the computation's shape, then the formula.

    Each level is recorded in the workspace, so the next call shows the next one; outside a
    workspace nothing is recorded (the screen says so).
    """
    kata = registry.get(name)
    con = render.console()
    if not path.is_dir():
        render.kata_hints(con, kata, len(kata.hints) if show_all else 1, True, recorded_in=None, missing=str(path))
        return
    state = State.load(path)
    if state.notice:
        render.notice(render.console(stderr=True), state.notice)
    progress = state.get(name)
    before = progress.hints
    progress.hints = len(kata.hints) if show_all else min(len(kata.hints), before + 1)
    try:
        state.save()
    except OSError as exc:  # a read-only workspace, .kata made a file: the hint is shown all the same
        render.notice(render.console(stderr=True), f"the hint level was not recorded in {path} "
                      f"({exc.strerror or exc}); the next call shows this level again.")
    render.kata_hints(con, kata, progress.hints, progress.hints > before, recorded_in=str(path))


def first_unpassed(path: Path) -> str | None:
    """The first kata, in curriculum order, whose last grade in the workspace is not a pass."""
    state = State.load(path) if path.is_dir() else None
    return next((n for n in registry.names() if not state or state.get(n).status != "pass"), None)


@click.command("next", epilog=examples("kata next", "kata next --path ~/ws"))
@path_option
def next_(path: Path) -> None:
    """The next kata not passed yet, in curriculum order, with its statement."""
    name = first_unpassed(path)
    kata = registry.get(name) if name else None
    render.next_kata(render.console(), kata, str(workspace.kata_path(path, kata)) if kata else "", str(path))


COMMANDS = (list_, show, hint, next_)
