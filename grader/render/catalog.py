"""The catalogue's screens: `kata list`, `show`, `hint`, `next`, `solution`. No torch.

Prose is wrapped at the terminal's width; formula blocks, signatures and code are never
reflowed: a line that does not fit runs on (the terminal or the pager wraps it), since a
formula cut in the middle of a term reads as a different formula.
"""
from __future__ import annotations

import re
import textwrap

from rich.console import Console
from rich.table import Table
from rich.text import Text

from typing import TYPE_CHECKING

from grader.core.kata import Kata
from grader.render.base import command, error

if TYPE_CHECKING:
    from grader.core.progress import Standing

HINT_LABELS = ("concept", "shape of the computation", "exact formula")
SUMMARY_MIN = 30  # columns the "what it is" column needs to read as prose; below, it goes under the row
_CODE = re.compile(r"^[A-Za-z_][\w, ]*\s*=\s")  # `seq = lambda ...`, `h = ...`: a hint that is code


LIST_WORDS = {"not_started": "not started", "in_progress": "in progress", "grader_error": "grader error"}
LIST_STYLE = {"pass": "green", "fail": "red", "error": "red", "timeout": "yellow"}


def _word(r: "Standing") -> str:
    word = LIST_WORDS.get(r.status, r.status)
    return f"edited after {word}" if r.stale else word + (" (reset)" if r.reset else "")


def kata_list(con: Console, rows: list["Standing"]) -> None:
    """Each kata's standing (grader.core.progress.Standing), grouped by the curriculum's tracks."""
    from grader.registry import TRACKS

    for n, track in enumerate(t for t in TRACKS if any(r.kata.track == t for r in rows)):
        if n:
            con.print()
        con.print(Text(f"{track}: {TRACKS[track]}", style="bold"))
        mine = [(r.kata, _word(r), f"{r.hints_used}/{len(r.kata.hints)}" if r.hints_used else "",
                 "dim" if r.stale else LIST_STYLE.get(r.status, "dim")) for r in rows if r.kata.track == track]
        names = max(len("kata"), *(len(k.name) for k, _, _, _ in mine))
        words = max(len("status"), *(len(w) for _, w, _, _ in mine))
        if con.width - names - words - len("hints") - 6 < SUMMARY_MIN:  # narrow: the summary under each row
            for kata, word, hints, style in mine:
                con.print(Text.assemble(Text(kata.name.ljust(names), style="bold"), "  ",
                                        Text(word, style=style), f"  {hints}" if hints else ""))
                for line in textwrap.wrap(kata.summary, width=con.width - 4, break_long_words=False,
                                          break_on_hyphens=False):
                    con.print(Text("    " + line, style="dim"))
            continue
        table = Table(box=None, padding=(0, 1), pad_edge=False)  # two spaces between columns
        table.add_column("kata", style="bold", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("hints", no_wrap=True)
        table.add_column("what it is")
        for kata, word, hints, style in mine:
            table.add_row(kata.name, Text(word, style=style), hints, kata.summary)
        con.print(table)


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of each prose paragraph so the terminal wraps it at its own
    width. Indented lines (formulas, code) and list items keep their line breaks."""
    out = []
    for block in text.split("\n\n"):
        joined: list[str] = []
        for line in block.split("\n"):
            item = line.startswith("- ")
            continues_item = joined and joined[-1].startswith("- ") and line.startswith("  ") and line.strip()
            continues_prose = joined and not item and line and not line[0].isspace() and not joined[-1][:1].isspace()
            if continues_item or continues_prose:
                joined[-1] += " " + line.strip()
            else:
                joined.append(line)
        out.append("\n".join(joined))
    return "\n\n".join(out)


def prose(con: Console, text: str, style: str = "") -> None:
    """Paragraphs wrapped at the console's width (list items with a hanging indent); indented
    lines printed as they are, never wrapped."""
    for line in reflow(text).split("\n"):
        if line[:1].isspace():
            con.print(Text(line, style=style or "cyan"), soft_wrap=True)
            continue
        indent = "  " if line.startswith("- ") else ""
        wrapped = textwrap.wrap(OPERATOR.sub("\u00a0\\1 ", line), width=max(20, con.width), subsequent_indent=indent,
                                break_long_words=False, break_on_hyphens=False) or [""]
        for w in wrapped:
            con.print(Text(w.replace("\u00a0", " "), style=style), soft_wrap=True)


# An operator standing between spaces in prose ("beta > 0", "1 - label") is bound to the word
# before it, so that no wrapped line starts with one (a line starting with "> 0" reads as a
# quotation, one starting with "- x" as a list item).
OPERATOR = re.compile(r" ([<>=≤≥≠+·×/→*-]|[<>=!]=|->) ")


def kata_show(con: Console, kata: Kata) -> None:
    con.print(Text(f"{kata.name}: {kata.title}", style="bold"))
    con.print()
    prose(con, kata.statement)
    con.print()
    con.print(Text("Signature", style="bold"))
    con.print(Text(kata.signature, style="cyan"), soft_wrap=True)
    con.print()
    con.print(Text("What the grader checks", style="bold"))
    for c in kata.checks:
        prose(con, f"- {c.name}: {c.what}")
    con.print()
    prose(con, f"It recognises {len(kata.mistakes)} common mistakes by name. Hints: `kata hint {kata.name}`.",
          style="dim")


def is_code(hint: str) -> bool:
    return bool(_CODE.match(hint))


def kata_hints(con: Console, kata: Kata, shown: int, revealed_now: bool, recorded_in: str | None = "katas",
               missing: str = "katas") -> None:
    """Hints 1..`shown`; `recorded_in` is the workspace where progress is kept (None: there is none,
    `missing` is the folder that was looked for)."""
    for i in range(shown):
        name = HINT_LABELS[i] if i < len(HINT_LABELS) else f"level {i + 1}"
        title = f"Hint {i + 1}/{len(kata.hints)} ({name}):"
        if is_code(kata.hints[i]):  # one statement a line, never reflowed
            con.print(Text(title, style="bold"))
            for statement in kata.hints[i].split("; "):
                con.print(Text("    " + statement, style="cyan"), soft_wrap=True)
        else:
            prose(con, f"{title} {kata.hints[i]}")
    if recorded_in is None:
        prose(con, f"No workspace at '{missing}', so nothing is recorded and every call shows hint 1; "
                   f"{command(f'kata hint {kata.name} --all')} shows every level, and --path DIR records "
                   "them in a workspace.", style="dim")
    elif shown < len(kata.hints):
        prose(con, f"Run {command(f'kata hint {kata.name}', recorded_in)} again for the next level, or add --all.",
              style="dim")
    elif not revealed_now:
        con.print(Text("All hints are shown.", style="dim"))


def next_kata(con: Console, kata: Kata | None, path: str, ws: str) -> None:
    """`kata next`: the first kata not passed yet, stated; or that every kata passes."""
    if kata is None:
        con.print(Text("Every kata passes in this workspace.", style="bold green"))
        return
    prose(con, f"Next: {kata.name} ({kata.track} track). Edit {path}, then "
               f"{command(f'kata grade {kata.name}', ws)}.", style="bold")
    con.print()
    kata_show(con, kata)


def solution(con: Console, kata: Kata, source: str, path: str) -> None:
    """The reference with syntax highlighting; lines are never cropped, so it can be copied."""
    from rich.syntax import Syntax

    con.print(Text.assemble(Text(f"{kata.name}: reference solution", style="bold"), Text(f"  {path}", style="dim")))
    width = max((len(line) for line in source.splitlines()), default=1)
    con.print(Syntax(source.rstrip("\n"), "python", line_numbers=con.is_terminal, code_width=width,
                     word_wrap=False, background_color="default"), crop=False)


def solution_locked(con: Console, kata: Kata, ws: str) -> None:
    error(con, f"the reference for {kata.name} unlocks once your {kata.name} passes: "
               f"{command(f'kata grade {kata.name}', ws)}. Stuck? {command(f'kata hint {kata.name}', ws)} reveals "
               f"the next hint; {command(f'kata solution {kata.name} --force', ws)} shows it anyway.")
