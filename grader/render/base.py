"""What every screen shares: the console, the status words and marks, the margin. No torch.

Each mark means one thing on every screen, so that a report read without colour is still
unambiguous: ✓ pass, ✗ fail, ! error, · skipped or not run, i advice (an advisory check
that found something; it never decides the verdict).
"""
from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.text import Text

from grader.sandbox.untrusted import encodable

# C0 and C1 control characters but newline and tab, DEL, and the bidirectional overrides
# ("Trojan Source"): an escape sequence in a message could move the cursor and redraw the report.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: Any, one_line: bool = False) -> str:
    """`text` as it may reach a terminal: every control character shown as U+FFFD.
    Applied to every string that comes from a run (messages, output, paths, folder names).
    `one_line`: a name or a path, where a newline or a tab is shown as U+FFFD too (a folder
    named "x\nbob  PASS" would otherwise print a line of its own in a cohort's table)."""
    text = _CONTROL.sub("\ufffd", encodable(str(text)))
    return re.sub(r"[\t\n\r]", "\ufffd", text) if one_line else text

STATUS_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold red", "timeout": "bold yellow",
                "not_started": "dim", "skip": "dim", "advice": "yellow", "grader_error": "bold magenta"}
STATUS_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "not_started": "NOT STARTED",
                "skip": "skip", "advice": "advice", "grader_error": "GRADER ERROR"}
MARKS = {"pass": "✓", "fail": "✗", "error": "!", "skip": "·", "advice": "i"}
NARROW = 70  # below this many columns the left margins shrink


def fit(con: Console, pieces: list[Text], sep: str = "  ·  ", indent: str = "", first: str = "") -> Text:
    """`pieces` joined by `sep`, a new line (after `indent`) wherever the next piece would pass the
    console's width, the first line after `first`: a phrase (a command, a seed) is never broken
    in the middle, unless it is longer than a line by itself."""
    lines: list[Text] = []
    for piece in (p for p in pieces if p.plain):
        if lines and lines[-1].cell_len + len(sep) + piece.cell_len <= con.width:
            lines[-1] = lines[-1] + Text(sep) + piece
            continue
        start = indent if lines else first
        if len(start) + piece.cell_len <= con.width:
            lines.append(Text(start) + piece)
            continue
        # Longer than a line by itself: wrapped between words, every line after `indent`.
        room = max(10, con.width - max(len(start), len(indent)))
        for k, part in enumerate(piece.wrap(con, room, no_wrap=False)):
            part.rstrip()
            lines.append(Text(start if k == 0 else indent) + part)
    return Text("\n").join(lines)


MIN_WIDTH = 40  # narrower than this, tables would drop their messages: lay out at 40 and let the terminal wrap


def console(stderr: bool = False) -> Console:
    con = Console(stderr=stderr, highlight=False, soft_wrap=False)
    return con if con.width >= MIN_WIDTH else Console(stderr=stderr, highlight=False, soft_wrap=False, width=MIN_WIDTH)


def margin(con: Console, wide: int = 4) -> int:
    """The left indent of nested blocks: `wide` on a wide screen, half of it on a narrow one."""
    return wide if con.width >= NARROW else max(1, wide // 2)


def check_kind(status: str, advisory: bool) -> str:
    """A check's status as shown: an advisory check that did not pass is 'advice', never 'fail'."""
    return "advice" if advisory and status in ("fail", "error") else status


def label(status: str) -> Text:
    return Text(STATUS_LABEL.get(status, status), style=STATUS_STYLE.get(status, ""))


def mark(kind: str) -> Text:
    return Text(MARKS[kind], style=STATUS_STYLE.get(kind, ""))


def error(con: Console, message: str) -> None:
    con.print(Text.assemble(Text("error: ", style="bold red"), sanitize(message)))


def notice(con: Console, message: str) -> None:
    # Not wrapped here: a path or command folded mid-word by the renderer cannot be copied;
    # the terminal wraps the line at its own width.
    con.print(Text(sanitize(message), style="yellow"), soft_wrap=True)


def written(con: Console, path: object) -> None:
    """`wrote PATH`, never wrapped: a path cut across lines cannot be copied."""
    con.print(Text(f"wrote {sanitize(path, one_line=True)}"), soft_wrap=True)


def command(text: str, ws: object = None) -> str:
    """A command to suggest, with the workspace it applies to: `kata reset dpo --path ws2`.

    The default workspace (`katas`, relative to where the user is) needs no --path.
    """
    return f"`{text}`" if ws is None or str(ws) == "katas" else f"`{text} --path {ws}`"
