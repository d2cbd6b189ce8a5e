"""`kata watch`'s screens. No torch.

A grade shows the compact report (the deciding failure and its message; the passing checks
folded into one line) and ends with a footer that names the failing checks, so that the
verdict is on screen in an 80x24 pane; `--verbose` shows the full report.
"""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from grader.render.base import command, fit, label, sanitize
from grader.render.report import kata_result


def watch_start(con: Console, ws: str, first: str, seed: int) -> None:
    con.print(Text.assemble(Text(f"Watching {sanitize(ws, one_line=True)}", style="bold"),
                            Text(f" · starting with {first} · seed {seed} · save a kata file to grade it · "
                                 "Ctrl-C to stop", style="dim")))


def footer(con: Console, r: Any, seed: int) -> Text:
    """`dpo FAIL · failing: values · mistake 'sign flipped' · seed 5`, the report's last line(s)."""
    pieces = [Text.assemble(Text(r.name, style="bold"), " ", label(r.status))]
    if r.failed_checks:
        pieces.append(Text("failing: " + ", ".join(c.name for c in r.failed_checks)))
        mistakes = list(dict.fromkeys(c.mistake for c in r.failed_checks if c.mistake))
        if mistakes:
            pieces.append(Text("mistake " + ", ".join(f"'{m}'" for m in mistakes)))
    pieces.append(Text(f"seed {seed}", style="dim"))
    return fit(con, pieces, sep=" · ")


def watch_step(con: Console, step: Any, paths: dict[str, str] | None = None, verbose: bool = False,
               ws: str | None = None) -> None:
    """One `grader.practice.watch.Step`: a grade starting, its report, a grade cancelled by a
    newer save, the move to the next kata, or the end of the katas."""
    paths = paths or {}
    if step.kind == "grading":
        con.print(Text(f"grading {step.kata}...", style="dim"))
    elif step.kind == "cancelled":
        con.print(Text(f"{step.kata} changed while it was graded: grading the new version.", style="dim"))
    elif step.kind == "graded":
        con.rule(Text(step.kata, style="bold"), align="left", style="dim")
        for r in step.report.katas:  # no "n / m katas pass" line: one kata at a time here
            kata_result(con, r, paths.get(r.name, ""), compact=True, verbose=verbose)
        for w in step.report.warnings:
            con.print(Text("warning: " + sanitize(w), style="bold yellow"))
        for r in step.report.katas:
            con.print(footer(con, r, step.report.seed))
    elif step.kind == "next":
        con.print(Text.assemble(Text("→ next kata: ", style="bold green"), Text(step.kata, style="bold"),
                                f" ({command(f'kata show {step.kata}')} states it; save "
                                f"{paths.get(step.kata, step.kata + '.py')} to grade it)"))
    elif step.kind == "done":
        con.print(Text("Every kata passes. Still watching: save a file to grade it again, Ctrl-C to stop.",
                       style="bold green"))


def watch_goodbye(con: Console, done: int, total: int) -> None:
    con.print()
    con.print(Text(f"Stopped watching. {done} / {total} katas solved.", style="dim"))
