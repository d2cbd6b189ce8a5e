"""All terminal output. rich when it helps; no colour when NO_COLOR is set or stdout is not
a terminal (rich's own rule). Every function takes result objects and prints them; none
computes anything a check decides. No torch.
"""
from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.kata import Kata
from grader.results import KataResult, Report

STATUS_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold red", "timeout": "bold yellow",
                "not_started": "dim", "skip": "dim"}
STATUS_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "not_started": "NOT STARTED",
                "skip": "skip"}
SPARKS = "▁▂▃▄▅▆▇█"


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def sparkline(values: Iterable[float]) -> str:
    xs = [float(v) for v in values]
    if not xs:
        return ""
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((x - lo) / span * (len(SPARKS) - 1) + 0.5))] for x in xs)


def _label(status: str) -> Text:
    return Text(STATUS_LABEL.get(status, status), style=STATUS_STYLE.get(status, ""))


# ------------------------------------------------------------------ grading
def kata_result(con: Console, r: KataResult, path: str = "") -> None:
    head = Text.assemble(Text(r.name, style="bold"), "  ", _label(r.status),
                         Text(f"  {path}  {r.seconds:.2f} s" if path else f"  {r.seconds:.2f} s", style="dim"))
    if r.hints_used:
        head.append(f"  hints used: {r.hints_used}", style="dim")
    con.print(head)
    if r.message:
        con.print(Text("  " + r.message))
    if r.checks:
        table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False, expand=False)
        table.add_column(width=2)
        table.add_column(no_wrap=True)
        table.add_column(width=6)
        table.add_column(overflow="fold")
        for c in r.checks:
            mark = {"pass": "✓", "fail": "✗", "error": "!", "skip": "·"}[c.status]
            style = "yellow" if c.advisory and c.status == "fail" else STATUS_STYLE.get(c.status, "")
            label = "advice" if c.advisory and c.status == "fail" else STATUS_LABEL[c.status]
            table.add_row(Text(mark, style=style), c.name, Text(label, style=style), Text(c.message))
            for key, series in c.details.items():
                if isinstance(series, list) and len(series) > 2:
                    table.add_row("", "", "", Text(f"{key}: {sparkline(series)}", style="cyan"))
        con.print(table)
    if r.output and r.status != "pass":
        con.print(Text("  output of the submission:", style="dim"))
        con.print(Text("\n".join("    " + line for line in r.output.splitlines()[-12:]), style="dim"))
    con.print()


def report(con: Console, rep: Report, paths: dict[str, str] | None = None) -> None:
    paths = paths or {}
    for r in rep.katas:
        kata_result(con, r, paths.get(r.name, ""))
    for w in rep.warnings:
        con.print(Text("warning: " + w, style="bold yellow"))
    summary(con, rep)


def summary(con: Console, rep: Report) -> None:
    style = "bold green" if rep.ok else "bold"
    con.print(Text.assemble(Text(f"{rep.passed} / {rep.total} katas pass", style=style),
                            Text(f"  ·  seed {rep.seed} (reproduce with --seed {rep.seed})", style="dim")))


def progress_line(con: Console, done: int, total: int) -> None:
    width = 20
    filled = round(width * done / total) if total else 0
    con.print(Text.assemble("progress ", Text("█" * filled, style="green"), Text("░" * (width - filled), style="dim"),
                            f" {done} / {total} katas solved"))


# ------------------------------------------------------------------ catalogue
def kata_list(con: Console, rows: list[tuple[Kata, str, str]]) -> None:
    """rows: (kata, status word, extra such as hints used)."""
    table = Table(box=None, padding=(0, 2), pad_edge=False)
    table.add_column("kata", style="bold", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("hints", no_wrap=True)
    table.add_column("what it is")
    for kata, status, hints in rows:
        style = {"pass": "green", "fail": "red", "error": "red", "timeout": "yellow"}.get(status.split()[0], "dim")
        table.add_row(kata.name, Text(status, style=style), hints, kata.summary)
    con.print(table)


def kata_show(con: Console, kata: Kata) -> None:
    con.print(Text(f"{kata.name}: {kata.title}", style="bold"))
    con.print()
    con.print(Text(kata.statement))
    con.print()
    con.print(Text("Signature", style="bold"))
    con.print(Text(kata.signature, style="cyan"))
    con.print()
    con.print(Text("What the grader checks", style="bold"))
    for c in kata.checks:
        con.print(Text.assemble("  ", Text(c.name, style="bold"), f": {c.what}"))
    con.print()
    con.print(Text(f"It recognises {len(kata.mistakes)} common mistakes by name. "
                   f"Hints: `kata hint {kata.name}`.", style="dim"))


def kata_hints(con: Console, kata: Kata, shown: int, revealed_now: bool) -> None:
    labels = ("concept", "shape of the computation", "exact formula")
    for i in range(shown):
        label = labels[i] if i < len(labels) else f"level {i + 1}"
        con.print(Text.assemble(Text(f"Hint {i + 1}/{len(kata.hints)} ({label}): ", style="bold"), kata.hints[i]))
    if shown < len(kata.hints):
        con.print(Text(f"Run `kata hint {kata.name}` again for the next level, or add --all.", style="dim"))
    elif not revealed_now:
        con.print(Text("All hints are shown.", style="dim"))


def error(con: Console, message: str) -> None:
    con.print(Text.assemble(Text("error: ", style="bold red"), message))


def notice(con: Console, message: str) -> None:
    con.print(Text(message, style="yellow"))
