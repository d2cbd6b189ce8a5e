"""`kata report`'s screen: a person x kata table when it fits the width, else one row per person.

Every cell is readable at any width: no name or status is ever cut. The full table needs
one column per kata; when those do not fit (13 katas never fit in 80 columns), each person
gets one row with their passed / total and the katas that do not pass, with why, wrapped
at word boundaries. No torch.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.practice.cohort import Cohort
from grader.render.base import STATUS_LABEL, STATUS_STYLE, fit, label, sanitize

GAP = 2  # spaces between the table's columns


def _full_width(co: Cohort) -> int:
    """Columns the person x kata table needs, every cell at its full width."""
    people = max([len("person")] + [len(m.person) for m in co.members])
    widths = [people] + [max(len(name), *(len(STATUS_LABEL[r.status]) for m in co.members for r in m.report.katas
                                          if r.name == name), 1) for name in co.kata_names]
    widths.append(max([len("passed")] + [len(f"{m.report.passed}/{m.report.total}") for m in co.members]))
    return sum(widths) + GAP * (len(widths) - 1)


def _entries(m) -> list[Text]:
    """'dpo FAIL (values)', one per kata that does not pass: an entry is never split across lines."""
    out = []
    for r in m.report.katas:
        if r.status == "pass":
            continue
        why = STATUS_LABEL[r.status]
        if r.status == "fail" and r.failed_checks:
            why += " (" + ", ".join(c.name for c in r.failed_checks) + ")"
        out.append(Text.assemble(f"{r.name} ", Text(why, style=STATUS_STYLE.get(r.status, ""))))
    return out


def _lines(entries: list[Text], width: int) -> Text:
    """`entries` joined by ', ', broken into lines of at most `width` cells between entries only."""
    if not entries:
        return Text("every kata passes", style="green")
    lines: list[Text] = [Text()]
    for i, e in enumerate(entries):
        piece = e + Text("," if i < len(entries) - 1 else "")
        if lines[-1].plain and lines[-1].cell_len + 1 + piece.cell_len > width:
            lines.append(Text())
        lines[-1] = lines[-1] + Text(" ") + piece if lines[-1].plain else piece
    return Text("\n").join(lines)


def cohort(con: Console, co: Cohort) -> None:
    """The cohort's table (or rows), warnings, then `n / m people pass every kata` and the seed."""
    if _full_width(co) <= con.width:
        table = Table(box=None, padding=(0, GAP), pad_edge=False)
        table.add_column("person", style="bold", no_wrap=True)
        for name in co.kata_names:
            table.add_column(Text(sanitize(name, one_line=True)), no_wrap=True)
        table.add_column("passed", justify="right", no_wrap=True)
        for m in co.members:
            status = {r.name: r.status for r in m.report.katas}
            passed = Text(f"{m.report.passed}/{m.report.total}", style="bold green" if m.report.ok else "")
            table.add_row(Text(sanitize(m.person, one_line=True)), *[label(status[name]) if name in status else "" for name in co.kata_names], passed)
    else:
        table = Table(box=None, padding=(0, GAP), pad_edge=False)
        table.add_column("person", style="bold", no_wrap=True)
        table.add_column("passed", justify="right", no_wrap=True)
        person_width = max([len("person")] + [len(m.person) for m in co.members])
        passed_width = max([len("passed")] + [len(f"{m.report.passed}/{m.report.total}") for m in co.members])
        width = max(20, con.width - person_width - passed_width - 2 * GAP)
        table.add_column("katas not passing", overflow="fold")
        for m in co.members:
            passed = Text(f"{m.report.passed}/{m.report.total}", style="bold green" if m.report.ok else "")
            table.add_row(Text(sanitize(m.person, one_line=True)), passed, _lines(_entries(m), width))
    con.print(table)
    for m in co.members:
        for w in m.report.warnings:
            con.print(Text(f"warning ({sanitize(m.person, one_line=True)}): {sanitize(w)}", style="bold yellow"))
    con.print()
    style = "bold green" if co.ok else "bold"
    con.print(fit(con, [Text(f"{co.passed} / {co.total} people pass every kata", style=style),
                        Text(f"seed {co.seed} (reproduce with --seed {co.seed})", style="dim")]))
